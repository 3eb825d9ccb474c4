{{ config(materialized='table', schema='identity_int') }}
-- Boundary edges of every grid polygon, from wg_grid.bj_wkt (WKT POLYGON / MULTIPOLYGON, any
-- number of rings). One row per edge (x1, y1) -> (x2, y2) of a ring; holes and the parts of a
-- multipolygon are rings too, so even-odd ray casting over all edges handles them. Portable SQL:
-- no spatial extension needed on either engine.
{%- set max_rings = 64 %}
{%- set max_vertices = 4096 %}
with wkt as (
    select
        grid_code,
        -- rings separated by '|', coordinates by ',', x and y by one space
        regexp_replace(regexp_replace(regexp_replace(regexp_replace(
            upper(boundary_wkt),
            '\)[[:space:]]*,[[:space:]]*\(', '|', 'g'),
            '[A-Z()]', '', 'g'),
            '[[:space:]]*,[[:space:]]*', ',', 'g'),
            '[[:space:]]+', ' ', 'g')                   as rings
    from {{ ref('int_grids') }}
    where boundary_wkt is not null
),

rings as (
    select
        w.grid_code,
        r.i                                             as ring_no,
        trim(split_part(w.rings, '|', r.i))             as ring
    from wkt as w
    inner join {{ int_series(max_rings) }} as r
        on r.i <= length(w.rings) - length(replace(w.rings, '|', '')) + 1
),

vertices as (
    select
        r.grid_code,
        r.ring_no,
        v.i                                             as vertex_no,
        cast(split_part(trim(split_part(r.ring, ',', v.i)), ' ', 1) as double precision) as x,
        cast(split_part(trim(split_part(r.ring, ',', v.i)), ' ', 2) as double precision) as y
    from rings as r
    inner join {{ int_series(max_vertices) }} as v
        on v.i <= length(r.ring) - length(replace(r.ring, ',', '')) + 1
    where r.ring <> ''
)

select
    a.grid_code,
    a.ring_no,
    a.vertex_no,
    a.x                                                 as x1,
    a.y                                                 as y1,
    b.x                                                 as x2,
    b.y                                                 as y2
from vertices as a
inner join vertices as b
    on b.grid_code = a.grid_code
   and b.ring_no = a.ring_no
   and b.vertex_no = a.vertex_no + 1
