-- Approval on-time rate (办件按时办结率) per government-service item and calendar month, quarter and year,
-- against the promised limit in WORKING days (int_approval_cases_timed: add_working_days on the official
-- 调休 calendar), as of the as-of date (int_as_of_date, var as_of). A case belongs to the periods of its
-- acceptance day; cases accepted after the as-of date are not there, completions after it count as not yet
-- done. on_time_rate = on_time / (on_time + overdue), as service_catalog's rolling windows.
-- Rows: every item of the catalog x every period in which any case was accepted (0 cases when none).
with as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

cases as (
    select * from {{ ref('int_approval_cases_timed') }}
),

case_periods as (
    {%- for p, months in calendar_periods() %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select
        '{{ p }}'                                       as period_type,
        {{ period_start(p, 'c.accepted_on') }}          as period_start,
        c.item_code,
        c.on_time_status,
        c.completed_at,
        c.handling_working_days
    from cases as c
    where c.accepted_on is not null
    {%- endfor %}
),

periods as (
    select distinct cp.period_type, cp.period_start from case_periods as cp
),

figures as (
    select
        cp.period_type,
        cp.period_start,
        cp.item_code,
        count(*)                                                                    as cases,
        sum(case when cp.on_time_status = 'on_time' then 1 else 0 end)              as on_time_cases,
        sum(case when cp.on_time_status = 'overdue' then 1 else 0 end)              as overdue_cases,
        sum(case when cp.on_time_status = 'pending' then 1 else 0 end)              as pending_cases,
        sum(case when cp.on_time_status = 'withdrawn' then 1 else 0 end)            as withdrawn_cases,
        sum(case when cp.on_time_status = 'no_deadline' then 1 else 0 end)          as no_deadline_cases,
        sum(case when cp.completed_at is null and cp.on_time_status <> 'withdrawn' then 1 else 0 end) as open_cases,
        percentile_cont(0.5) within group (
            order by case when cp.on_time_status in ('on_time', 'overdue', 'no_deadline') and cp.completed_at is not null
                          then cp.handling_working_days end)                       as median_handling_working_days
    from case_periods as cp
    group by cp.period_type, cp.period_start, cp.item_code
),

items as (
    select i.item_code, i.item_name, i.item_type, i.promised_limit_days
    from {{ ref('int_catalog_items') }} as i
    where i.item_kind = 'government'
),

ended as (
    select
        p.period_type,
        p.period_start,
        case p.period_type
            {%- for p, months in calendar_periods() %}
            when '{{ p }}' then {{ period_end('p.period_start', months) }}
            {%- endfor %}
        end as period_end
    from periods as p
)

select
    cast(e.period_type as varchar)                                          as period_type,
    cast(e.period_start as date)                                            as period_start,
    cast(e.period_end as date)                                              as period_end,
    cast(i.item_code as varchar)                                            as item_code,
    cast(i.item_name as varchar)                                            as item_name,
    cast(i.item_type as varchar)                                            as item_type,
    cast(i.promised_limit_days as integer)                                  as promised_limit_days,
    cast(coalesce(f.cases, 0) as integer)                                   as cases,
    cast(coalesce(f.on_time_cases, 0) as integer)                           as on_time_cases,
    cast(coalesce(f.overdue_cases, 0) as integer)                           as overdue_cases,
    cast(coalesce(f.pending_cases, 0) as integer)                           as pending_cases,
    cast(coalesce(f.withdrawn_cases, 0) as integer)                         as withdrawn_cases,
    cast(coalesce(f.no_deadline_cases, 0) as integer)                       as no_deadline_cases,
    cast(coalesce(f.open_cases, 0) as integer)                              as open_cases,
    cast(f.on_time_cases as double precision) / nullif(f.on_time_cases + f.overdue_cases, 0) as on_time_rate,
    cast(f.median_handling_working_days as double precision)                as median_handling_working_days,
    cast(a.as_of_date as date)                                              as as_of_date,
    cast(e.period_end <= a.as_of_date as boolean)                           as is_period_closed,
    cast(e.period_end <= a.as_of_date and coalesce(f.open_cases, 0) = 0 as boolean) as figures_final
from ended as e
cross join items as i
cross join as_of as a
left join figures as f
    on f.period_type = e.period_type and f.period_start = e.period_start and f.item_code = i.item_code
