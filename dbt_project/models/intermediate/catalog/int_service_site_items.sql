-- One row per service site (服务阵地, stg_services__sites) and life-service item (生活服务事项) that lists the
-- site in its site list (fwzd, stg_services__life_items.site_ids), with the item's provider; a site no item
-- lists is one row with item_code NULL. A listed site id that is not a known site is left out.
with listed as (
    select x.item_code, x.provider_name, x.provider_uscc, trim(x.site_id) as site_id
    from (
        select l.item_code, l.provider_name, l.provider_uscc, {{ unnest_csv('l.site_ids') }} as site_id
        from {{ ref('stg_services__life_items') }} as l
        where l.site_ids is not null
    ) as x
),

item_sites as (
    select distinct i.item_code, i.provider_name, i.provider_uscc, i.site_id from listed as i
)

select
    s.site_id,
    s.source_key,
    s.site_name,
    s.site_type,
    s.community_text,
    i.item_code,
    i.provider_name,
    i.provider_uscc
from {{ ref('stg_services__sites') }} as s
left join item_sites as i on i.site_id = s.site_id
