-- One row per grid with its community, street and district (names and codes), households and
-- population as the grid system reports them, and the number of estates whose main grid it is.
select
    g.grid_code,
    g.grid_name,
    g.grid_seq,
    g.grid_type,
    g.community_code,
    g.community_name,
    g.street_code,
    g.street_name,
    g.district_code,
    g.district_name,
    g.households,
    g.population,
    coalesce(e.n_estates, 0)                            as n_estates,
    g.boundary_wkt
from {{ ref('int_grids') }} as g
left join (
    select main_grid_code, count(*) as n_estates
    from {{ ref('int_estates') }}
    group by main_grid_code
) as e on e.main_grid_code = g.grid_code
