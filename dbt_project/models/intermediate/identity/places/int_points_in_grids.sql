-- Point in polygon, portably: each located record's (lon, lat) against the grid boundaries by
-- even-odd ray casting over the edges of int_grid_edges, after a bounding-box prefilter.
-- A point on no polygon gets no row; a point in several (overlapping boundaries) takes the
-- smallest grid_code. Rings are closed in WKT, so the last vertex repeats the first.
with points as (
    select * from {{ ref('int_place_points') }}
    where lon is not null and lat is not null
),

edges as (
    select * from {{ ref('int_grid_edges') }}
),

boxes as (
    select
        grid_code,
        min(least(x1, x2)) as min_x, max(greatest(x1, x2)) as max_x,
        min(least(y1, y2)) as min_y, max(greatest(y1, y2)) as max_y
    from edges
    group by grid_code
),

candidates as (
    select p.source_system, p.source_table, p.source_key, p.lon, p.lat, b.grid_code
    from points as p
    inner join boxes as b
        on p.lon between b.min_x and b.max_x
       and p.lat between b.min_y and b.max_y
),

crossings as (
    select
        c.source_system, c.source_table, c.source_key, c.grid_code,
        sum(case
            when (e.y1 > c.lat) <> (e.y2 > c.lat)
             and c.lon < (e.x2 - e.x1) * (c.lat - e.y1) / nullif(e.y2 - e.y1, 0) + e.x1
            then 1 else 0 end)                          as n_crossings
    from candidates as c
    inner join edges as e on e.grid_code = c.grid_code
    group by c.source_system, c.source_table, c.source_key, c.grid_code
),

inside as (
    select
        *,
        row_number() over (partition by source_system, source_table, source_key order by grid_code) as rn
    from crossings
    where n_crossings % 2 = 1
)

select source_system, source_table, source_key, grid_code
from inside
where rn = 1
