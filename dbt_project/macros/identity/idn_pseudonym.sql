{#- Keyed pseudonyms for the identity layer (DESIGN "Privacy").

    idn_hmac(expr) -> 'hmac:' || first 24 hex chars of HMAC-SHA256(key, expr as UTF-8), NULL for NULL.
    Exactly the value yiwang.privacy.pseudonym(expr) gives in Python, on DuckDB and PostgreSQL alike.

    The key (YIWANG_HMAC_KEY) never enters SQL: these macros render only a call of a function that finds
    the key at run time, so compiled SQL, manifest.json, partial_parse.msgpack, run_results.json, dbt's
    logs and the docs site hold no key and nothing derived from it. This project never reads the key
    with env_var() either (dbt keeps the value of every env var it reads in its partial-parse state).
      - DuckDB: yiwang_hmac(varchar), a Python UDF the dbt-duckdb plugin yiwang.dbt_duckdb_udf registers
        on each connection dbt opens (profiles.yml `plugins`); it reads the key from the environment.
      - PostgreSQL: yiwang_udf.yiwang_hmac(text), a SQL function (created by the on-run-start hook below,
        no key in it) computing HMAC from the built-in sha256 (RFC 2104:
        HMAC(K, m) = SHA256((K xor opad) || SHA256((K xor ipad) || m))). The two padded keys come from the
        session settings yiwang.hmac_ipad / yiwang.hmac_opad (hex), which yiwang.dbt_runner.dbt_env()
        passes to libpq through PGOPTIONS: connection start-up options, never a SQL statement, so neither
        dbt nor the server logs them. A dbt CLI run outside yiwang needs that PGOPTIONS (see docs/identity.md).

    dbt unit tests cannot set a process environment, so a unit test sets
    overrides: {env_vars: {YIWANG_HMAC_UNIT_TEST_KEY: unit-test-key}}: that throwaway, public key is then
    rendered into the unit test's SQL (the only place a key literal is ever written) by the same HMAC in SQL.
    Outside a unit test that variable is refused.
-#}

{% macro idn_hmac(expr) -%}
    {%- set test_key = env_var('YIWANG_HMAC_UNIT_TEST_KEY', '') -%}
    {%- if test_key != '' -%}
        {%- if execute and model is mapping and model.get('resource_type') != 'unit_test' -%}
            {{ exceptions.raise_compiler_error("YIWANG_HMAC_UNIT_TEST_KEY is for dbt unit tests only (its key is written into SQL); the real key is YIWANG_HMAC_KEY, read at run time") }}
        {%- endif -%}
        {{ return(idn_hmac_test_literal(expr, test_key)) }}
    {%- endif -%}
    {{ return(adapter.dispatch('idn_hmac', 'yiwang')(expr)) }}
{%- endmacro %}

{% macro default__idn_hmac(expr) -%}
    yiwang_udf.yiwang_hmac(cast({{ expr }} as text))
{%- endmacro %}

{% macro duckdb__idn_hmac(expr) -%}
    yiwang_hmac(cast({{ expr }} as varchar))
{%- endmacro %}


{#- on-run-start (dbt_project.yml): the PostgreSQL function. Its text holds no key. -#}
{% macro idn_create_hmac_function() -%}
    {{ return(adapter.dispatch('idn_create_hmac_function', 'yiwang')()) }}
{%- endmacro %}

{% macro default__idn_create_hmac_function() -%}
    select 1
{%- endmacro %}

{% macro postgres__idn_create_hmac_function() -%}
create schema if not exists yiwang_udf;
create or replace function yiwang_udf.hmac_key_missing() returns text
language plpgsql stable parallel safe as $fn$
begin
    raise exception 'yiwang.hmac_ipad / yiwang.hmac_opad are not set on this session: run dbt through yiwang (yiwang build, yiwang.dbt_runner) with YIWANG_HMAC_KEY set, or set PGOPTIONS as yiwang.dbt_runner.dbt_env() does';
end
$fn$;
create or replace function yiwang_udf.yiwang_hmac(v text) returns text
language sql stable parallel safe as $fn$
    select 'hmac:' || substr(encode(sha256(
        decode(coalesce(nullif(current_setting('yiwang.hmac_opad', true), ''), yiwang_udf.hmac_key_missing()), 'hex')
        || sha256(decode(coalesce(nullif(current_setting('yiwang.hmac_ipad', true), ''), yiwang_udf.hmac_key_missing()), 'hex')
                  || convert_to(v, 'UTF8'))), 'hex'), 1, 24)
$fn$
{%- endmacro %}


{#- Unit tests only: HMAC in SQL with a literal (throwaway) key. -#}
{% macro _idn_xor_byte(a, b) -%}
    {%- set ns = namespace(v=0) -%}
    {%- for bit in range(8) -%}
        {%- set p = 2 ** bit -%}
        {%- if ((a // p) % 2) != ((b // p) % 2) -%}{%- set ns.v = ns.v + p -%}{%- endif -%}
    {%- endfor -%}
    {{- '%02x' % ns.v -}}
{%- endmacro %}

{% macro _idn_padded_key(key, pad) -%}
    {%- set kb = key.encode('utf-8') | list -%}
    {%- if kb | length > 64 -%}
        {{ exceptions.raise_compiler_error("YIWANG_HMAC_UNIT_TEST_KEY longer than 64 bytes is not supported") }}
    {%- endif -%}
    {%- set out = [] -%}
    {%- for i in range(64) -%}
        {%- do out.append(_idn_xor_byte(kb[i] if i < kb | length else 0, pad)) -%}
    {%- endfor -%}
    {{- out | join('') -}}
{%- endmacro %}

{% macro idn_hmac_test_literal(expr, key) -%}
    {{ return(adapter.dispatch('idn_hmac_test_literal', 'yiwang')(expr, key)) }}
{%- endmacro %}

{% macro default__idn_hmac_test_literal(expr, key) -%}
    ('hmac:' || substr(encode(sha256(decode('{{ _idn_padded_key(key, 92) }}', 'hex') || sha256(decode('{{ _idn_padded_key(key, 54) }}', 'hex') || convert_to({{ expr }}, 'UTF8'))), 'hex'), 1, 24))
{%- endmacro %}

{% macro duckdb__idn_hmac_test_literal(expr, key) -%}
    ('hmac:' || substr(sha256(unhex('{{ _idn_padded_key(key, 92) }}') || unhex(sha256(unhex('{{ _idn_padded_key(key, 54) }}') || encode({{ expr }})))), 1, 24))
{%- endmacro %}
