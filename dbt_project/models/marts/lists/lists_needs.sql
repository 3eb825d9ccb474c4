-- 需求清单: demands raised in each community, by source and category: every record of int_demand_records.
-- Hotline tickets (category = 诉求类别, else 诉求类型), grid events (category = the major category, stated or
-- found in the description by int_grid_events_categorised) and property complaints (category = 投诉类别);
-- 未分类 when unknown. Every record's community is the one the identity layer gives it (identity.grid_xref:
-- its grid — for an event the stated code when it exists, else its coordinates or address, never the stated
-- code alone — else the community it names, every spelling of a community name matched to the city's
-- divisions).
-- Unresolved: community_code NULL.
with places as (
    select x.source_system, x.source_table, x.source_key, x.community_code from {{ ref('grid_xref') }} as x
),

needs as (
    select c.community_code, r.source_system as source, coalesce(r.category, '未分类') as category, r.closed_at as completed_at
    from {{ ref('int_demand_records') }} as r
    left join places as c
        on c.source_system = r.source_system and c.source_table = r.source_table and c.source_key = r.source_key
)

select
    cast(n.community_code as varchar)                               as community_code,
    cast(n.source as varchar)                                       as source,
    cast(n.category as varchar)                                     as category,
    cast(count(*) as integer)                                       as needs,
    cast(count(n.completed_at) as integer)                          as needs_completed
from needs as n
group by n.community_code, n.source, n.category
