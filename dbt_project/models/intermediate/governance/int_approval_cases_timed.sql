-- Cases (办件) with their promised deadline in WORKING days and their on-time status as of the as-of date.
--   deadline_date          = add_working_days(accepted_at, promised_limit_days)   (see macros/working_days.sql)
--   handling_working_days  = working_days_between(accepted_at, completed_at)
--   on_time_status:
--     withdrawn    result 撤回 (the applicant stopped the clock): excluded from the on-time rate
--     no_deadline  promised limit unknown, or a day outside the calendar's span: excluded
--     on_time      completed (before snapshot_at) on or before the deadline date
--     overdue      completed after the deadline date, or not completed and the deadline date is over
--                  by the end of the as-of day (deadline_date <= as_of_date)
--     pending      not completed and the deadline not yet over: excluded from the rate
with as_of as (
    select as_of_date, snapshot_at from {{ ref('int_as_of_date') }}
),

cases as (
    select
        c.case_id,
        c.item_code,
        c.accepted_at,
        case when c.completed_at < a.snapshot_at then c.completed_at end       as completed_at,
        c.result,
        i.promised_limit_days,
        a.as_of_date
    from {{ ref('stg_approval__cases') }} as c
    cross join as_of as a
    left join {{ ref('stg_approval__items') }} as i on i.item_code = c.item_code
    where c.accepted_at < a.snapshot_at
),

timed as (
    select
        cases.*,
        case when cases.promised_limit_days is not null
             then {{ add_working_days('cases.accepted_at', 'cases.promised_limit_days') }} end as deadline_date,
        case when cases.completed_at is not null
             then {{ working_days_between('cases.accepted_at', 'cases.completed_at') }} end    as handling_working_days
    from cases
)

select
    case_id,
    item_code,
    accepted_at,
    cast(accepted_at as date)                               as accepted_on,
    completed_at,
    result,
    promised_limit_days,
    deadline_date,
    handling_working_days,
    case
        when result = '撤回' then 'withdrawn'
        when deadline_date is null then 'no_deadline'
        when completed_at is not null and cast(completed_at as date) <= deadline_date then 'on_time'
        when completed_at is not null then 'overdue'
        when deadline_date <= as_of_date then 'overdue'
        else 'pending'
    end                                                     as on_time_status
from timed
