-- 项目清单: per community and need category, the needs raised there (all sources, lists_needs) joined
-- to the community's paired department (lists_department_pairing): one project = the paired department
-- taking up one category of needs in its community.
with needs as (
    select n.community_code, n.category,
           sum(n.needs) as needs, sum(n.needs_completed) as needs_completed,
           sum(case when n.source = 'hotline' then n.needs else 0 end)  as needs_hotline,
           sum(case when n.source = 'grid' then n.needs else 0 end)     as needs_grid,
           sum(case when n.source = 'property' then n.needs else 0 end) as needs_property
    from {{ ref('lists_needs') }} as n
    where n.community_code is not null
    group by n.community_code, n.category
)

select
    cast(n.community_code as varchar)       as community_code,
    cast(p.community_name as varchar)       as community_name,
    cast(n.category as varchar)             as category,
    cast(p.department_uscc as varchar)      as department_uscc,
    cast(p.department_name as varchar)      as department_name,
    cast(n.needs as integer)                as needs,
    cast(n.needs_completed as integer)      as needs_completed,
    cast(n.needs_hotline as integer)        as needs_hotline,
    cast(n.needs_grid as integer)           as needs_grid,
    cast(n.needs_property as integer)       as needs_property
from needs as n
left join {{ ref('lists_department_pairing') }} as p on p.community_code = n.community_code
