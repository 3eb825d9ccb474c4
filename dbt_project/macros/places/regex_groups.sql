{#- All capture groups of one regex match, computed once per row (PostgreSQL's capturing regex
    is slow, so models bind the match in a CTE column and read groups from it).
    rx_groups(expr, pattern, n)  -> a value holding groups 1..n (DuckDB struct, PostgreSQL text[])
    rx_group(col, i)             -> group i of it, NULL when absent or empty. -#}
{% macro rx_groups(expr, pattern, n) -%}
    {{ return(adapter.dispatch('rx_groups', 'yiwang')(expr, pattern, n)) }}
{%- endmacro %}
{% macro default__rx_groups(expr, pattern, n) -%}
    regexp_match({{ expr }}, '{{ pattern }}')
{%- endmacro %}
{% macro duckdb__rx_groups(expr, pattern, n) -%}
    (case when regexp_matches({{ expr }}, '{{ pattern }}')
          then regexp_extract({{ expr }}, '{{ pattern }}', [{% for i in range(1, n + 1) %}'g{{ i }}'{{ ', ' if not loop.last }}{% endfor %}]) end)
{%- endmacro %}

{% macro rx_group(col, i) -%}
    {{ return(adapter.dispatch('rx_group', 'yiwang')(col, i)) }}
{%- endmacro %}
{% macro default__rx_group(col, i) -%}
    nullif({{ col }}[{{ i }}], '')
{%- endmacro %}
{% macro duckdb__rx_group(col, i) -%}
    nullif(struct_extract({{ col }}, 'g{{ i }}'), '')
{%- endmacro %}

{#- Integer series 1..n as a relation with column `i` (both engines). -#}
{% macro int_series(n) -%}
    (select cast(i as integer) as i from generate_series(1, {{ n }}) as gs(i))
{%- endmacro %}
