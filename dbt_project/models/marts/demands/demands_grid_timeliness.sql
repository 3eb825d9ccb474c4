-- Per grid and year (of 上报时间): closed grid events, those closed within the deadline
-- (结案时间 jasj <= 处理时限 clsx), the on-time share, and whether the grid has a full-time certified
-- grid worker (wg_wgy: 在岗, 专职, 社工证书; int_grid_staffing). An event counts in the grid the identity layer places it in
-- (identity.grid_xref: the stated code when it exists, else its coordinates, else its address), never by the
-- stated code (wgbm) alone; events it places in no grid are one row per year with grid_code NULL
-- (placement 'unplaced'), not dropped. events_not_as_stated counts the events whose stated code is missing
-- or names another grid (audit).
with places as (
    select x.source_key, x.grid_code
    from {{ ref('grid_xref') }} as x
    where x.source_system = 'grid' and x.source_table = 'wg_sj'
),

events as (
    select
        p.grid_code,
        case when p.grid_code is not null and (e.grid_code is null or p.grid_code <> e.grid_code) then 1 else 0 end
                                                                                as is_not_as_stated,
        cast(extract(year from e.reported_at) as integer)                       as year,
        case when e.closed_at is not null then 1 else 0 end                     as is_closed,
        case when e.closed_at is not null and e.deadline_at is not null
                  and e.closed_at <= e.deadline_at then 1 else 0 end           as is_on_time
    from {{ ref('int_grid_events_categorised') }} as e
    left join places as p on p.source_key = e.source_key
    where e.reported_at is not null
),

per_grid as (
    select ev.grid_code, ev.year, count(*) as events, sum(ev.is_closed) as events_closed, sum(ev.is_on_time) as closed_on_time,
           sum(ev.is_not_as_stated) as events_not_as_stated
    from events as ev
    group by ev.grid_code, ev.year
)

select
    cast(p.grid_code as varchar)                                                   as grid_code,
    cast(case when p.grid_code is not null then 'grid' else 'unplaced' end as varchar) as placement,
    cast(g.community_code as varchar)                                              as community_code,
    cast(p.year as integer)                                                        as year,
    cast(p.events as integer)                                                      as events,
    cast(p.events_closed as integer)                                               as events_closed,
    cast(p.closed_on_time as integer)                                              as closed_on_time,
    cast({{ rate('p.closed_on_time', 'p.events_closed') }} as double precision) as on_time_rate,
    cast(coalesce(w.has_certified_fulltime_worker, false) as boolean)              as has_certified_fulltime_worker,
    cast(coalesce(w.has_worker_on_duty, false) as boolean)                         as has_worker_on_duty,
    cast(p.events_not_as_stated as integer)                                        as events_not_as_stated
from per_grid as p
left join {{ ref('dim_grid') }} as g on g.grid_code = p.grid_code
left join {{ ref('int_grid_staffing') }} as w on w.grid_code = p.grid_code
