-- Party organisations with the community (qhdm when it is a community of the identity layer, int_communities) and the grid they sit in:
-- a 15-digit code in the grid text, else the grid text equal to a grid name, else the community code +
-- the number of "第N网格" / "N网格" (texts with Chinese numerals stay unresolved).
with orgs as (
    select o.org_id, o.org_type, o.division_code, o.grid_text, o.grid_code as grid_code_in_text
    from {{ ref('stg_party__orgs') }} as o
),

communities as (
    select c.community_code from {{ ref('int_communities') }} as c
),

grids as (
    select g.grid_code, g.grid_name from {{ ref('stg_grid__grids') }} as g
)

select
    orgs.org_id,
    orgs.org_type,
    c.community_code,
    coalesce(gc.grid_code, gn.grid_code, gs.grid_code) as grid_code
from orgs
left join communities as c on c.community_code = orgs.division_code
left join grids as gc on gc.grid_code = orgs.grid_code_in_text
left join grids as gn on gn.grid_name = orgs.grid_text
left join grids as gs
    on gs.grid_code = c.community_code || lpad({{ regex_extract('orgs.grid_text', '([0-9]{1,3})网格$', 1) }}, 3, '0')
