-- Party-organisation coverage of grids: per grid, the Party organisations located in it (网格党支部,
-- 小区党支部, 楼栋党小组 ... resolved in int_party_orgs_located) and whether it has any. Grids with
-- has_party_org = false are the grids without one. Every grid of the city: identity.dim_grid.
with orgs as (
    select o.grid_code, o.org_type from {{ ref('int_party_orgs_located') }} as o where o.grid_code is not null
),

per_grid as (
    select
        o.grid_code,
        count(*)                                                as party_orgs,
        count(case when o.org_type = '网格党支部' then 1 end)     as grid_branches
    from orgs as o
    group by o.grid_code
)

select
    cast(g.grid_code as varchar)                    as grid_code,
    cast(g.grid_name as varchar)                    as grid_name,
    cast(g.community_code as varchar)               as community_code,
    cast(g.community_name as varchar)               as community_name,
    cast(coalesce(p.party_orgs, 0) as integer)      as party_orgs,
    cast(coalesce(p.grid_branches, 0) as integer)   as grid_branches,
    cast(coalesce(p.party_orgs, 0) > 0 as boolean)  as has_party_org
from {{ ref('dim_grid') }} as g
left join per_grid as p on p.grid_code = g.grid_code
