{#- Working-day arithmetic on China's calendar (seed `cn_workday_calendar`, generated from the
    chinesecalendar library by scripts/gen_calendar.py). Portable: plain correlated scalar subqueries
    on the seed, which DuckDB decorrelates into joins and PostgreSQL answers from the seed's indexes.
    A date outside the calendar's span gives NULL, never a guess.

    Definitions (the same as 行政许可法 art. 82: the day the period starts is not counted):
      add_working_days(ts, n)         the deadline DATE of a limit of n working days started at ts:
                                      n >= 1: the n-th working day after the day of ts (that day not counted,
                                              whether or not it is a working day);
                                      n <= 0: the day of ts if it is a working day, else the next working day
                                              (即办件: same working day).
                                      A completion on or before the deadline date is on time.
      working_days_between(a, b)      working days after the day of a up to and including the day of b
                                      (= workday_seq(day b) - workday_seq(day a)); 0 for the same day or when
                                      only non-working days lie between; negative when b is before a.
    Consistency: date(b) <= add_working_days(a, n) implies working_days_between(a, b) <= n. -#}

{% macro add_working_days(ts_expr, n_expr) -%}
    (select _wd_to.calendar_date
     from {{ ref('cn_workday_calendar') }} as _wd_to
     where _wd_to.is_workday
       and _wd_to.workday_seq = (
           select case when coalesce({{ n_expr }}, 0) <= 0
                       then _wd_from.workday_seq - (case when _wd_from.is_workday then 1 else 0 end) + 1
                       else _wd_from.workday_seq + {{ n_expr }} end
           from {{ ref('cn_workday_calendar') }} as _wd_from
           where _wd_from.calendar_date = cast({{ ts_expr }} as date)))
{%- endmacro %}

{% macro working_days_between(start_expr, end_expr) -%}
    ((select _wd_end.workday_seq from {{ ref('cn_workday_calendar') }} as _wd_end
      where _wd_end.calendar_date = cast({{ end_expr }} as date))
     - (select _wd_start.workday_seq from {{ ref('cn_workday_calendar') }} as _wd_start
        where _wd_start.calendar_date = cast({{ start_expr }} as date)))
{%- endmacro %}

{#- Hours from timestamp a to timestamp b (negative when b is before a), as an exact decimal (12 places, far below
    a second): sums and averages of it do not depend on the order rows are added in, so a rebuild of the
    same data gives the same bytes on every engine (a double's last bits follow the summation order). -#}
{% macro hours_between(start_expr, end_expr) -%}
    {{ return(adapter.dispatch('hours_between', 'yiwang')(start_expr, end_expr)) }}
{%- endmacro %}
{% macro default__hours_between(start_expr, end_expr) -%}
    cast(round(cast(extract(epoch from ({{ end_expr }} - {{ start_expr }})) / 3600.0 as numeric), 12) as numeric(30, 12))
{%- endmacro %}
{% macro duckdb__hours_between(start_expr, end_expr) -%}
    cast(round((epoch({{ end_expr }}) - epoch({{ start_expr }})) / 3600.0, 12) as numeric(30, 12))
{%- endmacro %}

{#- First day of the month of a date/timestamp, as a date. -#}
{% macro month_start(expr) -%}
    cast(date_trunc('month', {{ expr }}) as date)
{%- endmacro %}

{#- The data's as-of date: var `as_of` (YYYY-MM-DD) when set, else the model int_as_of_date. -#}
{% macro as_of_date_literal() -%}
    {%- set v = as_of_var() -%}
    {%- if v -%} cast('{{ v }}' as date) {%- else -%} null {%- endif -%}
{%- endmacro %}

{#- The var `as_of` as 'YYYY-MM-DD' text, or none when unset; anything else is a compile error. -#}
{% macro as_of_var() -%}
    {%- set v = var('as_of', none) -%}
    {%- if v is none or v == '' -%}{{ return(none) }}{%- endif -%}
    {%- set text = v | string -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', text) -%}
        {{ exceptions.raise_compiler_error("var as_of must be a date YYYY-MM-DD, got " ~ text) }}
    {%- endif -%}
    {{ return(text) }}
{%- endmacro %}

{#- A condition: the timestamp/date `expr` falls on or before the as-of day (var `as_of`); `true` when the var
    is unset (the marts that use it, e.g. mart_property, then take every record landed). -#}
{% macro known_as_of(expr) -%}
    {%- set v = as_of_var() -%}
    {%- if v -%}
    cast({{ expr }} as timestamp) < cast({{ dbt.dateadd('day', 1, "cast('" ~ v ~ "' as date)") }} as timestamp)
    {%- else -%}
    true
    {%- endif -%}
{%- endmacro %}
