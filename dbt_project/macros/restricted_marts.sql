{#- Restricted marts (personal data; models with meta.restricted, schema mart_residents) are built only
    with --vars '{yiwang_restricted_marts: true}' (default false, dbt_project.yml). A disabled model leaves
    behind whatever an earlier run built, and yiwang.publish publishes every table of a mart_*__build
    schema, so while the switch is off every dbt run / build drops the restricted tables from their build
    schema and from the published schema. -#}

{#- (schema, table) of every restricted mart; kept next to the switch so both change together. -#}
{% macro restricted_mart_relations() -%}
    {{ return([('mart_residents', 'resident_services')]) }}
{%- endmacro %}

{% macro restricted_marts_enabled() -%}
    {{ return(var('yiwang_identity_marts', false) and var('yiwang_restricted_marts', false)) }}
{%- endmacro %}

{#- Drops in its own committed transaction (a hook's own statement is rolled back on DuckDB), then hands dbt a
    no-op as the hook's SQL. -#}
{% macro drop_restricted_marts_when_off() -%}
    {%- set statements = [] -%}
    {%- if execute and flags.WHICH in ('run', 'build') and not restricted_marts_enabled() -%}
        {%- for schema, table in restricted_mart_relations() -%}
            {%- for s in [generate_schema_name(schema, none) | trim, schema] | unique -%}
                {%- set rel = adapter.get_relation(database=target.database, schema=s, identifier=table) -%}
                {%- if rel is not none -%}
                    {%- do log("restricted mart " ~ rel ~ " dropped: yiwang_restricted_marts is off", info=true) -%}
                    {%- do statements.append("drop " ~ ("view" if rel.is_view else "table") ~ " if exists " ~ rel ~ " cascade") -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if statements -%}
        {%- call statement('drop_restricted_marts', auto_begin=True) -%}
            {{ statements | join(";\n") }}
        {%- endcall -%}
        {%- do adapter.commit() -%}
    {%- endif -%}
    select 1
{%- endmacro %}
