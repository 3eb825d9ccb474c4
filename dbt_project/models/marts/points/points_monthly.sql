-- Points (积分量化) per subject and month: the points of each metric, the month's total and the
-- running total of the calendar year (year to date; the first month of a year / of the data is its own total).
with detail as (
    select * from {{ ref('points_monthly_detail') }}
),

monthly as (
    select
        subject_kind,
        subject_id,
        month_start
        {%- for m in ['events_closed', 'events_closed_on_time', 'events_satisfied', 'events_overdue', 'patrol_events', 'service_points'] %},
        sum(case when metric = '{{ m }}' then points else 0 end)  as {{ m }}_points
        {%- endfor %},
        sum(points)                                              as total_points,
        max(rule_version)                                        as max_rule_version,
        sum(case when is_capped then 1 else 0 end)               as capped_metrics
    from detail
    group by subject_kind, subject_id, month_start
)

select
    cast(m.subject_kind as varchar)                 as subject_kind,
    cast(m.subject_id as varchar)                   as subject_id,
    cast(m.month_start as date)                     as month_start,
    cast(case when m.subject_kind = 'grid_worker' then w.grid_code end as varchar) as grid_code,
    cast(m.events_closed_points as double precision)          as events_closed_points,
    cast(m.events_closed_on_time_points as double precision)  as events_closed_on_time_points,
    cast(m.events_satisfied_points as double precision)       as events_satisfied_points,
    cast(m.events_overdue_points as double precision)         as events_overdue_points,
    cast(m.patrol_events_points as double precision)          as patrol_events_points,
    cast(m.service_points_points as double precision)         as service_points,
    cast(m.total_points as double precision)                  as total_points,
    cast(sum(m.total_points) over (
        partition by m.subject_kind, m.subject_id, extract(year from m.month_start)
        order by m.month_start rows between unbounded preceding and current row) as double precision) as points_ytd,
    cast(m.max_rule_version as integer)             as max_rule_version,
    cast(m.capped_metrics as integer)               as capped_metrics
from monthly as m
left join (
    select s.assigned_worker_id as grid_worker_id, min(s.grid_code) as grid_code
    from {{ ref('int_grid_staffing') }} as s
    where s.assigned_worker_id is not null
    group by s.assigned_worker_id
) as w
    on m.subject_kind = 'grid_worker' and w.grid_worker_id = m.subject_id
