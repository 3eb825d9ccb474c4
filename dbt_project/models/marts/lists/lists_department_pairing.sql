-- 部门结对社区: no source carries the pairing of the city's departments with communities, so it is
-- derived: a community's paired department is the department (reference list, by credit code) that
-- handled the most grid events (wg_sj.czbm_uscc) in the community; ties go to the lower code. An event's
-- community is the one the identity layer places it in (identity.grid_xref), never its stated grid code alone.
with handled as (
    select g.community_code, e.handling_dept_uscc as department_uscc, count(*) as events_handled
    from {{ ref('stg_grid__events') }} as e
    inner join {{ ref('grid_xref') }} as g
        on g.source_system = 'grid' and g.source_table = 'wg_sj' and g.source_key = e.source_key
    where e.handling_dept_uscc is not null and g.community_code is not null
    group by g.community_code, e.handling_dept_uscc
),

ranked as (
    select
        h.*,
        row_number() over (partition by h.community_code order by h.events_handled desc, h.department_uscc asc) as rn
    from handled as h
    inner join {{ ref('stg_reference__departments') }} as d0 on d0.department_uscc = h.department_uscc
)

select
    cast(r.community_code as varchar)   as community_code,
    cast(c.division_name as varchar)    as community_name,
    cast(r.department_uscc as varchar)  as department_uscc,
    cast(d.department_name as varchar)  as department_name,
    cast(r.events_handled as integer)   as events_handled
from ranked as r
left join {{ ref('stg_reference__departments') }} as d on d.department_uscc = r.department_uscc
left join {{ ref('stg_reference__divisions') }} as c on c.division_code = r.community_code
where r.rn = 1
