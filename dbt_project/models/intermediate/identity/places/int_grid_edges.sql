-- Boundary edges of every grid polygon, from wg_grid.bj_wkt (WKT POLYGON / MULTIPOLYGON, any
-- number of rings). One row per edge (x1, y1) -> (x2, y2) of a ring; holes and the parts of a
-- multipolygon are rings too, so even-odd ray casting over all edges handles them. Portable SQL:
-- no spatial extension needed on either engine.
{%- set max_rings = 64 %}
{%- set max_vertices = 4096 %}
with wkt as materialized (
    select
        grid_code,
        -- rings separated by '|', coordinates by ',', x and y by one space
        -- (materialized: PostgreSQL would otherwise re-run the regexes inside the series joins)
        regexp_replace(regexp_replace(regexp_replace(regexp_replace(
            upper(boundary_wkt),
            '\)[[:space:]]*,[[:space:]]*\(', '|', 'g'),
            '[A-Z()]', '', 'g'),
            '[[:space:]]*,[[:space:]]*', ',', 'g'),
            '[[:space:]]+', ' ', 'g')                   as rings
    from {{ ref('int_grids') }}
    where boundary_wkt is not null
),

rings as materialized (
    select
        w.grid_code,
        r.i                                             as ring_no,
        trim(split_part(w.rings, '|', r.i))             as ring,
        length(trim(split_part(w.rings, '|', r.i))) - length(replace(trim(split_part(w.rings, '|', r.i)), ',', '')) + 1 as n_vertices
    from wkt as w
    inner join {{ int_series(max_rings) }} as r
        on r.i <= length(w.rings) - length(replace(w.rings, '|', '')) + 1
),

edges as (
    -- edge i joins vertex i to vertex i + 1 of the same ring (no self-join needed)
    select
        r.grid_code,
        r.ring_no,
        v.i                                             as vertex_no,
        trim(split_part(r.ring, ',', v.i))              as p1,
        trim(split_part(r.ring, ',', v.i + 1))          as p2
    from rings as r
    inner join {{ int_series(max_vertices) }} as v
        on v.i < r.n_vertices
    where r.ring <> ''
)

select
    grid_code,
    ring_no,
    vertex_no,
    cast(split_part(p1, ' ', 1) as double precision)    as x1,
    cast(split_part(p1, ' ', 2) as double precision)    as y1,
    cast(split_part(p2, ' ', 1) as double precision)    as x2,
    cast(split_part(p2, ' ', 2) as double precision)    as y2
from edges
