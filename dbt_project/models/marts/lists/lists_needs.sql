-- 需求清单: demands raised in each community, by source and category. Hotline tickets (community by
-- its community text; category = 诉求类别, else 诉求类型), grid events (community of the grid;
-- category = the event category's major name, 未分类 when the code is unknown) and property complaints
-- (community of the estate's file row; category = 投诉类别). Unresolved communities: community_code NULL.
with communities as (
    select d.division_code as community_code, d.division_name
    from {{ ref('stg_reference__divisions') }} as d where d.division_level = '社区'
),

hotline as (
    select c.community_code, 'hotline' as source, coalesce(t.request_category, t.request_type, '未分类') as category,
           t.ticket_id as need_id, t.completed_at
    from {{ ref('stg_hotline__tickets') }} as t
    left join communities as c on c.division_name = {{ community_name_from_text('t.community_name') }}
),

grid as (
    select g.community_code, 'grid' as source, coalesce(k.major_name, '未分类') as category,
           e.event_id as need_id, e.closed_at as completed_at
    from {{ ref('stg_grid__events') }} as e
    left join {{ ref('stg_grid__grids') }} as g on g.grid_code = e.grid_code
    left join {{ ref('stg_reference__event_categories') }} as k on k.category_code = e.category_code
),

estates as (
    select e.estate_name, e.company, max(e.community_text) as community_text
    from {{ ref('stg_property__estates') }} as e group by e.estate_name, e.company
),

property as (
    select c.community_code, 'property' as source, coalesce(p.category, '未分类') as category,
           p.complaint_id as need_id, p.completed_at
    from {{ ref('stg_property__complaints') }} as p
    left join estates as e on e.estate_name = p.estate_name and e.company = p.company
    left join communities as c on c.division_name = {{ community_name_from_text('e.community_text') }}
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
