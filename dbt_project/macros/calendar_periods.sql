{#- Calendar periods of the period marts (approval_on_time_by_item_period, governance_by_street_period):
    (period_type, length in months). A record belongs to the month, quarter and year of its date. -#}
{% macro calendar_periods() -%}
    {{ return([('month', 1), ('quarter', 3), ('year', 12)]) }}
{%- endmacro %}

{#- First day of the `period_type` ('month' | 'quarter' | 'year') holding the date/timestamp `expr`. -#}
{% macro period_start(period_type, expr) -%}
    cast(date_trunc('{{ period_type }}', {{ expr }}) as date)
{%- endmacro %}

{#- Last day of the period of `months` months starting on the date `start_expr`. -#}
{% macro period_end(start_expr, months) -%}
    cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', months, start_expr)) }} as date)
{%- endmacro %}

{#- First day of the period before the one starting on `start_expr`, by its `period_type_expr` (SQL). -#}
{% macro previous_period_start(period_type_expr, start_expr) -%}
    case {{ period_type_expr }}
        {%- for p, months in calendar_periods() %}
        when '{{ p }}' then cast({{ dbt.dateadd('month', -months, start_expr) }} as date)
        {%- endfor %}
    end
{%- endmacro %}
