{#- Custom schemas are used as-is (`staging`, `mart_catalog`), not prefixed with the
    target schema (`public_staging`). Models without a custom schema land in the target schema.
    When YIWANG_BUILD_SCHEMA_SUFFIX is set (the build DAG and `yiwang build` set it to `__build`), every
    `mart_*` schema gets the suffix: marts are built into `mart_catalog__build`, gated there, and only
    published to `mart_catalog` (yiwang/publish.py) when the mart gate passes. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set suffix = env_var('YIWANG_BUILD_SCHEMA_SUFFIX', '') | trim -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif suffix and (custom_schema_name | trim).startswith('mart_') -%}
        {{ custom_schema_name | trim }}{{ suffix }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
