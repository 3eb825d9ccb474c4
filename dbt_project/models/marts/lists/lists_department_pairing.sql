-- 部门结对社区: no source carries the pairing of the city's departments with communities, so it is
-- derived: a community's paired department is the department (reference list, by credit code, named as
-- int_grid_events_categorised names it) that handled the most grid events (wg_sj.czbm_uscc) in the
-- community; ties go to the lower code. An event's community is the one the identity layer places it in
-- (identity.grid_xref), never its stated grid code alone; its name is the community's (int_communities).
with handled as (
    select g.community_code, e.handling_dept_uscc as department_uscc, max(e.handling_dept_name) as department_name,
           count(*) as events_handled
    from {{ ref('int_grid_events_categorised') }} as e
    inner join {{ ref('grid_xref') }} as g
        on g.source_system = 'grid' and g.source_table = 'wg_sj' and g.source_key = e.source_key
    where e.is_handling_dept_known and g.community_code is not null
    group by g.community_code, e.handling_dept_uscc
),

ranked as (
    select
        h.*,
        row_number() over (partition by h.community_code order by h.events_handled desc, h.department_uscc asc) as rn
    from handled as h
)

select
    cast(r.community_code as varchar)   as community_code,
    cast(c.community_name as varchar)   as community_name,
    cast(r.department_uscc as varchar)  as department_uscc,
    cast(r.department_name as varchar)  as department_name,
    cast(r.events_handled as integer)   as events_handled
from ranked as r
left join {{ ref('int_communities') }} as c on c.community_code = r.community_code
where r.rn = 1
