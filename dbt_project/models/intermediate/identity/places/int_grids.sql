-- One row per grid with its number inside the community ("第3网格" -> 3) and its community.
with grids as (
    select * from {{ ref('stg_grid__grids') }}
),

parsed as (
    select
        g.*,
        {{ rx_groups('g.grid_name', grid_text_pattern(), 2) }} as _m
    from grids as g
    where g.grid_code is not null
)

select
    p.grid_code,
    p.grid_name,
    coalesce({{ cn_to_int(rx_group('p._m', 2)) }}, cast(substr(p.grid_code, 13, 3) as integer)) as grid_seq,
    coalesce(p.community_code, substr(p.grid_code, 1, 12))   as community_code,
    coalesce(c.community_name, p.community_name)             as community_name,
    coalesce(c.street_code, p.street_code || '000')          as street_code,
    coalesce(c.street_name, p.street_name)                   as street_name,
    c.district_code,
    c.district_name,
    p.grid_type,
    p.households,
    p.population,
    p.boundary_wkt
from parsed as p
left join {{ ref('int_communities') }} as c
    on c.community_code = coalesce(p.community_code, substr(p.grid_code, 1, 12))
