-- 在职党员回常住地报到 (dj_bd) with the community and grid they registered in resolved to codes:
-- community: the text (前进社区 / 前进社区居委会 / 前进居委会) with 居委会 removed and 社区 appended when
-- missing, matched to a 社区 division name; grid: a 15-digit code in the grid text, else the grid text
-- equal to a grid name (前进社区第3网格), else the community + "第N网格" number.
with reg as (
    select
        r.registration_id,
        r.member_id,
        r.status,
        r.registered_on,
        r.grid_text,
        r.grid_code as grid_code_in_text,
        case
            when r.residence_community_text is null then null
            when {{ regex_like("regexp_replace(r.residence_community_text, '居委会$', '')", '社区$') }}
                then regexp_replace(r.residence_community_text, '居委会$', '')
            else regexp_replace(r.residence_community_text, '居委会$', '') || '社区'
        end as community_name
    from {{ ref('stg_party__registrations') }} as r
),

communities as (
    select d.division_code as community_code, d.division_name
    from {{ ref('stg_reference__divisions') }} as d
    where d.division_level = '社区'
),

grids as (
    select g.grid_code, g.grid_name, g.community_code from {{ ref('stg_grid__grids') }} as g
)

select
    reg.registration_id,
    reg.member_id,
    reg.status,
    reg.registered_on,
    reg.community_name,
    c.community_code,
    coalesce(gc.grid_code, gn.grid_code, gs.grid_code) as grid_code
from reg
left join communities as c on c.division_name = reg.community_name
left join grids as gc on gc.grid_code = reg.grid_code_in_text
left join grids as gn on gn.grid_name = reg.grid_text
left join grids as gs
    on gs.community_code = c.community_code
    and gs.grid_code = c.community_code || lpad({{ regex_extract('reg.grid_text', '([0-9]{1,3})网格$', 1) }}, 3, '0')
