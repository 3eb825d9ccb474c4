{#- Rollups of mart_governance.governance_events. Every rollup model is
        {{ governance_rollup(dims=[...], period='month'|'day') }}
    dims: list of (output column, expression over governance_events `e`) pairs; the first is the key.
    An event belongs to the period (day/month) it was reported in; its status is as of the as-of date.
    Monthly rollups also carry the previous calendar month's events and on-time rate (NULL in the first
    month of the data — "first period" — and 0 / NULL when the dimension had no events that month). -#}

{% macro governance_measures() -%}
    cast(count(*) as integer)                                                                as events,
    cast(sum(case when e.event_source = '网格员巡查' then 1 else 0 end) as integer)          as patrol_events,
    cast(sum(case when e.is_closed then 1 else 0 end) as integer)                            as closed_events,
    cast(sum(case when e.is_closed then 0 else 1 end) as integer)                            as open_events,
    cast(sum(case when e.on_time_status = 'on_time' then 1 else 0 end) as integer)           as on_time_events,
    cast(sum(case when e.on_time_status = 'overdue' then 1 else 0 end) as integer)           as overdue_events,
    cast(sum(case when e.on_time_status = 'on_time' then 1 else 0 end) as double precision)
        / nullif(sum(case when e.on_time_status in ('on_time', 'overdue') then 1 else 0 end), 0) as on_time_rate,
    cast(sum(case when e.satisfaction is not null then 1 else 0 end) as integer)             as evaluated_events,
    cast(sum(case when e.is_satisfied then 1 else 0 end) as integer)                         as satisfied_events,
    cast(sum(case when e.is_satisfied then 1 else 0 end) as double precision)
        / nullif(sum(case when e.satisfaction is not null then 1 else 0 end), 0)             as satisfaction_rate,
    cast(sum(case when e.is_closed_on_time_satisfied then 1 else 0 end) as integer)          as closed_on_time_satisfied_events,
    cast(sum(case when e.is_closed_on_time_satisfied then 1 else 0 end) as double precision)
        / nullif(sum(case when e.is_closed then 1 else 0 end), 0)                            as closed_on_time_satisfied_share,
    cast(sum(e.return_count) as integer)                                                     as returns,
    cast(sum(e.extension_count) as integer)                                                  as extensions,
    cast(sum(case when e.has_whistle then 1 else 0 end) as integer)                          as whistle_events,
    {{ exact_avg('e.whistle_response_hours') }}                                              as avg_whistle_response_hours,
    {{ exact_avg('e.hours_to_close') }}                                                      as avg_hours_to_close
{%- endmacro %}

{% macro governance_rollup(dims, period='month') -%}
{%- set period_col = 'month_start' if period == 'month' else 'day' -%}
{%- set period_expr = 'e.reported_month' if period == 'month' else 'e.reported_on' -%}
{%- set key = dims[0][0] -%}
with agg as (
    select
        {%- for col, expr in dims %}
        cast({{ expr }} as varchar) as {{ col }},
        {%- endfor %}
        cast({{ period_expr }} as date) as {{ period_col }},
        {{ governance_measures() }}
    from {{ ref('governance_events') }} as e
    group by {% for col, expr in dims if not expr.startswith("'") %}{{ expr }}, {% endfor %}{{ period_expr }}
)
{%- if period == 'month' %},

first_month as (
    select min(reported_month) as first_month from {{ ref('governance_events') }}
)

select
    agg.*,
    cast(case when agg.month_start = fm.first_month then null else coalesce(prev.events, 0) end as integer) as events_prev_month,
    cast(prev.on_time_rate as double precision)                                                     as on_time_rate_prev_month
from agg
cross join first_month as fm
left join agg as prev
  on (prev.{{ key }} = agg.{{ key }} or (prev.{{ key }} is null and agg.{{ key }} is null))
 and prev.month_start = cast({{ dbt.dateadd('month', -1, 'agg.month_start') }} as date)
{%- else %}

select * from agg
{%- endif %}
{%- endmacro %}
