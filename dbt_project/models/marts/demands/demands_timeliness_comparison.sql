-- Per year: on-time closure of grid events in grids with a full-time certified grid worker against
-- the other grids (pooled over events: closed on time / closed), and the difference in share points.
-- Events the identity layer places in no grid (demands_grid_timeliness placement 'unplaced') are in neither.
with g as (select * from {{ ref('demands_grid_timeliness') }} where grid_code is not null),

agg as (
    select
        g.year,
        count(distinct case when g.has_certified_fulltime_worker then g.grid_code end)     as grids_certified,
        count(distinct case when not g.has_certified_fulltime_worker then g.grid_code end) as grids_other,
        sum(case when g.has_certified_fulltime_worker then g.events_closed else 0 end)     as closed_certified,
        sum(case when g.has_certified_fulltime_worker then g.closed_on_time else 0 end)    as on_time_certified,
        sum(case when not g.has_certified_fulltime_worker then g.events_closed else 0 end) as closed_other,
        sum(case when not g.has_certified_fulltime_worker then g.closed_on_time else 0 end) as on_time_other
    from g
    group by g.year
),

rates as (
    select
        a.*,
        {{ rate('a.on_time_certified', 'a.closed_certified') }} as rate_certified,
        {{ rate('a.on_time_other', 'a.closed_other') }}         as rate_other
    from agg as a
)

select
    cast(year as integer)                               as year,
    cast(grids_certified as integer)                    as grids_certified,
    cast(grids_other as integer)                        as grids_other,
    cast(closed_certified as integer)                   as closed_certified,
    cast(on_time_certified as integer)                  as on_time_certified,
    cast(closed_other as integer)                       as closed_other,
    cast(on_time_other as integer)                      as on_time_other,
    cast(rate_certified as double precision)            as on_time_rate_certified,
    cast(rate_other as double precision)                as on_time_rate_other,
    cast(rate_certified - rate_other as double precision) as on_time_rate_difference
from rates
