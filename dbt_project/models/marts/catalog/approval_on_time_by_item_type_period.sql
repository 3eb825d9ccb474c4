-- Approval on-time rate per item type (事项类型: 行政许可, 行政确认 ...) and calendar month, quarter and year:
-- the items' period figures (approval_on_time_by_item_period) pooled, on_time / (on_time + overdue).
with item_periods as (
    select * from {{ ref('approval_on_time_by_item_period') }}
)

select
    cast(p.period_type as varchar)                                          as period_type,
    cast(p.period_start as date)                                            as period_start,
    cast(p.period_end as date)                                              as period_end,
    cast(p.item_type as varchar)                                            as item_type,
    cast(count(*) as integer)                                               as items,
    cast(sum(case when p.cases > 0 then 1 else 0 end) as integer)           as items_with_cases,
    cast(sum(p.cases) as integer)                                           as cases,
    cast(sum(p.on_time_cases) as integer)                                   as on_time_cases,
    cast(sum(p.overdue_cases) as integer)                                   as overdue_cases,
    cast(sum(p.pending_cases) as integer)                                   as pending_cases,
    cast(sum(p.withdrawn_cases) as integer)                                 as withdrawn_cases,
    cast(sum(p.no_deadline_cases) as integer)                               as no_deadline_cases,
    cast(sum(p.open_cases) as integer)                                      as open_cases,
    cast(sum(p.on_time_cases) as double precision)
        / nullif(sum(p.on_time_cases) + sum(p.overdue_cases), 0)            as on_time_rate,
    cast(max(p.as_of_date) as date)                                         as as_of_date,
    cast(min(case when p.is_period_closed then 1 else 0 end) = 1 as boolean) as is_period_closed,
    cast(min(case when p.figures_final then 1 else 0 end) = 1 as boolean)   as figures_final
from item_periods as p
group by p.period_type, p.period_start, p.period_end, p.item_type
