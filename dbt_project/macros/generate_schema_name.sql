{#- Custom schemas are used as-is (`staging`, `mart_catalog`), not prefixed with the
    target schema (`public_staging`). Models without a custom schema land in the target schema. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
