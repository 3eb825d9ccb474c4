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

{#- Rollups of mart_governance.governance_events by calendar month, quarter and year in one relation:
        {{ governance_period_rollup(dims=[...]) }}
    dims as for governance_rollup. An event belongs to the month, quarter and year it was reported in; its status
    is as of the as-of date. Each row carries its period_type ('month' | 'quarter' | 'year'), period_start and
    period_end, whether the period ended by the as-of date, and the previous period's events and on-time rate
    (events NULL in the data's first period of that type, 0 when the key had none). -#}
{% macro governance_period_rollup(dims) -%}
{%- set key = dims[0][0] -%}
with events as (
    {%- for p, months in calendar_periods() %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select
        e.*,
        '{{ p }}'                                as period_type,
        {{ period_start(p, 'e.reported_on') }}   as period_start
    from {{ ref('governance_events') }} as e
    {%- endfor %}
),

agg as (
    select
        {%- for col, expr in dims %}
        cast({{ expr }} as varchar) as {{ col }},
        {%- endfor %}
        cast(e.period_type as varchar) as period_type,
        cast(e.period_start as date) as period_start,
        {{ governance_measures() }}
    from events as e
    group by {% for col, expr in dims if not expr.startswith("'") %}{{ expr }}, {% endfor %}e.period_type, e.period_start
),

first_periods as (
    select e.period_type, min(e.period_start) as first_start from events as e group by e.period_type
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
)

select
    agg.*,
    case agg.period_type
        {%- for p, months in calendar_periods() %}
        when '{{ p }}' then {{ period_end('agg.period_start', months) }}
        {%- endfor %}
    end                                                                                     as period_end,
    cast(case agg.period_type
        {%- for p, months in calendar_periods() %}
        when '{{ p }}' then {{ period_end('agg.period_start', months) }} <= a.as_of_date
        {%- endfor %}
    end as boolean)                                                                         as is_period_closed,
    cast(case when agg.period_start = fp.first_start then null else coalesce(prev.events, 0) end as integer) as events_prev_period,
    cast(prev.on_time_rate as double precision)                                             as on_time_rate_prev_period
from agg
cross join as_of as a
inner join first_periods as fp on fp.period_type = agg.period_type
left join agg as prev
  on (prev.{{ key }} = agg.{{ key }} or (prev.{{ key }} is null and agg.{{ key }} is null))
 and prev.period_type = agg.period_type
 and prev.period_start = {{ previous_period_start('agg.period_type', 'agg.period_start') }}
{%- endmacro %}
