-- 需求清单: demands raised in each community, by source and category. Hotline tickets (category = 诉求类别,
-- else 诉求类型), grid events (category = the major category, stated or found in the description by
-- stg_grid__events, 未分类 when unknown) and property complaints (category = 投诉类别). Every record's community
-- is the one the identity layer gives it (identity.grid_xref: its grid — for an event the stated code when it
-- exists, else its coordinates or address, never the stated code alone — else the community it names, every
-- spelling of a community name matched to the city's divisions).
-- Unresolved: community_code NULL.
with places as (
    select x.source_system, x.source_table, x.source_key, x.community_code from {{ ref('grid_xref') }} as x
),

hotline as (
    select c.community_code, 'hotline' as source, coalesce(t.request_category, t.request_type, '未分类') as category,
           t.ticket_id as need_id, t.completed_at
    from {{ ref('stg_hotline__tickets') }} as t
    left join places as c
        on c.source_system = 'hotline' and c.source_table = 'tickets' and c.source_key = t.source_key
),

grid as (
    select g.community_code, 'grid' as source, coalesce(e.category_major_name, '未分类') as category,
           e.event_id as need_id, e.closed_at as completed_at
    from {{ ref('stg_grid__events') }} as e
    left join places as g
        on g.source_system = 'grid' and g.source_table = 'wg_sj' and g.source_key = e.source_key
),

property as (
    select c.community_code, 'property' as source, coalesce(p.category, '未分类') as category,
           p.complaint_id as need_id, p.completed_at
    from {{ ref('stg_property__complaints') }} as p
    left join places as c
        on c.source_system = 'property' and c.source_table = 'complaints' and c.source_key = p.source_key
),

needs as (
    select * from hotline union all select * from grid union all select * from property
)

select
    cast(n.community_code as varchar)                               as community_code,
    cast(n.source as varchar)                                       as source,
    cast(n.category as varchar)                                     as category,
    cast(count(*) as integer)                                       as needs,
    cast(count(n.completed_at) as integer)                          as needs_completed
from needs as n
group by n.community_code, n.source, n.category
