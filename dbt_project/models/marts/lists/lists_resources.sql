-- 资源清单: per community, its service sites (服务阵地, community the identity layer gives the site:
-- identity.grid_xref, from its coordinates or its community text in any spelling), its paired department
-- (lists_department_pairing) and the life-service providers offering items at its sites
-- (int_service_site_items). A site the identity layer cannot place is left out.
with site_items as (
    select c.community_code, s.site_id, s.site_name, s.site_type, s.item_code, s.provider_name, s.provider_uscc
    from {{ ref('int_service_site_items') }} as s
    inner join {{ ref('grid_xref') }} as c
        on c.source_system = 'services' and c.source_table = 'sites' and c.source_key = s.source_key
    where c.community_code is not null
),

sites as (
    select distinct i.community_code, i.site_id, i.site_name, i.site_type from site_items as i
),

providers as (
    select distinct i.community_code, coalesce(i.provider_uscc, i.provider_name) as resource_id,
           i.provider_name as resource_name
    from site_items as i
    where i.item_code is not null and coalesce(i.provider_uscc, i.provider_name) is not null
),

resources as (
    select s.community_code, '服务阵地' as resource_type, s.site_id as resource_id, s.site_name as resource_name,
           s.site_type as resource_subtype
    from sites as s
    union all
    select p.community_code, '结对部门', p.department_uscc, p.department_name, '市直部门'
    from {{ ref('lists_department_pairing') }} as p
    union all
    select v.community_code, '生活服务供应商', v.resource_id, max(v.resource_name), '生活服务'
    from providers as v
    group by v.community_code, v.resource_id
)

select
    cast(r.community_code as varchar)   as community_code,
    cast(r.resource_type as varchar)    as resource_type,
    cast(r.resource_id as varchar)      as resource_id,
    cast(r.resource_name as varchar)    as resource_name,
    cast(r.resource_subtype as varchar) as resource_subtype
from resources as r
