-- Units per subject, month and points metric (积分量化), before the scoring rules are applied.
--   grid_worker  (网格员): the worker responsible for the event's grid (stg_grid__grids.grid_worker_id,
--                the grid system's current assignment) gets its events. The event's grid is the one the
--                identity layer places it in (int_grid_resolved, what identity.grid_xref publishes: the stated
--                code when it exists, else its coordinates, else its address), never the stated code alone;
--                an event placed in no grid scores nobody. On-time status as in governance_events (macro
--                grid_event_on_time_status; events reported after the as-of day left out):
--                  events_closed          events closed in the month (closed_at)
--                  events_closed_on_time  of those, closed at or before the 限时办结 deadline
--                  events_satisfied       of those, evaluated 满意
--                  events_overdue         events that became overdue in the month (deadline_at's month),
--                                         closed late or still open past it as of the as-of date
--                  patrol_events          events found on patrol (事件来源 网格员巡查), month reported
--   party_member (党员 incl. community cadres): service_points = sum of jf of their service
--                records (dj_fwjl), month served (fwrq).
-- Only months up to the as-of month; only units > 0.
with as_of as (
    select as_of_date, snapshot_at from {{ ref('int_as_of_date') }}
),

events as (
    select
        e.event_id,
        e.source_key,
        e.event_source,
        e.reported_at,
        e.deadline_at,
        e.satisfaction,
        case when e.closed_at < a.snapshot_at then e.closed_at end  as closed_at,
        a.snapshot_at
    from {{ ref('stg_grid__events') }} as e
    cross join as_of as a
    where e.reported_at < a.snapshot_at
),

placed as (
    select r.source_key, r.grid_code
    from {{ ref('int_grid_resolved') }} as r
    where r.source_system = 'grid' and r.source_table = 'wg_sj' and r.grid_code is not null
),

grid_events as (
    select
        g.grid_worker_id,
        ev.event_source,
        ev.closed_at,
        ev.deadline_at,
        ev.closed_at is not null                                    as is_closed,
        coalesce(ev.satisfaction = '满意', false)                   as is_satisfied,
        {{ month_start('ev.reported_at') }}                         as reported_month,
        {{ grid_event_on_time_status('ev.closed_at', 'ev.deadline_at', 'ev.snapshot_at') }} as on_time_status
    from events as ev
    inner join placed as p on p.source_key = ev.source_key
    inner join {{ ref('stg_grid__grids') }} as g on g.grid_code = p.grid_code
    where g.grid_worker_id is not null
),

units as (
    select 'grid_worker' as subject_kind, grid_worker_id as subject_id, {{ month_start('closed_at') }} as month_start,
           'events_closed' as metric, count(*) as units
    from grid_events where is_closed
    group by grid_worker_id, {{ month_start('closed_at') }}
    union all
    select 'grid_worker', grid_worker_id, {{ month_start('closed_at') }}, 'events_closed_on_time', count(*)
    from grid_events where is_closed and on_time_status = 'on_time'
    group by grid_worker_id, {{ month_start('closed_at') }}
    union all
    select 'grid_worker', grid_worker_id, {{ month_start('closed_at') }}, 'events_satisfied', count(*)
    from grid_events where is_closed and is_satisfied
    group by grid_worker_id, {{ month_start('closed_at') }}
    union all
    select 'grid_worker', grid_worker_id, {{ month_start('deadline_at') }}, 'events_overdue', count(*)
    from grid_events where on_time_status = 'overdue'
    group by grid_worker_id, {{ month_start('deadline_at') }}
    union all
    select 'grid_worker', grid_worker_id, reported_month, 'patrol_events', count(*)
    from grid_events where event_source = '网格员巡查'
    group by grid_worker_id, reported_month
    union all
    select 'party_member', r.member_id, {{ month_start('r.served_on') }}, 'service_points', sum(r.points)
    from {{ ref('stg_party__service_records') }} as r
    cross join as_of as a
    where r.member_id is not null and r.served_on <= a.as_of_date
    group by r.member_id, {{ month_start('r.served_on') }}
)

select
    cast(u.subject_kind as varchar)         as subject_kind,
    cast(u.subject_id as varchar)           as subject_id,
    cast(u.month_start as date)             as month_start,
    cast(u.metric as varchar)               as metric,
    cast(u.units as double precision)       as units
from units as u
cross join as_of as a
where u.units > 0
  and u.month_start <= a.as_of_date
