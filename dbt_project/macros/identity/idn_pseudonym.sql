{#- Keyed pseudonyms for the identity layer (DESIGN "Privacy").

    idn_hmac(expr) -> 'hmac:' || first 24 hex chars of HMAC-SHA256(key, expr as UTF-8), NULL for NULL.
    Exactly the value yiwang.privacy.pseudonym(expr) gives in Python, on DuckDB and PostgreSQL alike.

    Neither engine ships an HMAC function without an extension (DuckDB has none; PostgreSQL only in
    pgcrypto), so HMAC is built from the SHA-256 both have (RFC 2104):
        HMAC(K, m) = SHA256((K xor opad) || SHA256((K xor ipad) || m))
    The key comes from env var YIWANG_HMAC_KEY (at most 64 bytes); the two padded keys are computed
    here in Jinja at compile time and appear as hex literals in the compiled SQL (target/), which is
    therefore as secret as the key itself: keep target/ private (it is never committed).
-#}

{% macro _idn_xor_byte(a, b) -%}
    {%- set ns = namespace(v=0) -%}
    {%- for bit in range(8) -%}
        {%- set p = 2 ** bit -%}
        {%- if ((a // p) % 2) != ((b // p) % 2) -%}{%- set ns.v = ns.v + p -%}{%- endif -%}
    {%- endfor -%}
    {{- '%02x' % ns.v -}}
{%- endmacro %}

{% macro _idn_padded_key(pad) -%}
    {%- set key = env_var('YIWANG_HMAC_KEY', '') -%}
    {%- if execute and key == '' -%}
        {{ exceptions.raise_compiler_error("YIWANG_HMAC_KEY is not set: the identity models pseudonymise ID numbers and phones with HMAC-SHA256 and need the key from the environment") }}
    {%- endif -%}
    {%- set kb = key.encode('utf-8') | list -%}
    {%- if kb | length > 64 -%}
        {{ exceptions.raise_compiler_error("YIWANG_HMAC_KEY longer than 64 bytes is not supported by idn_hmac") }}
    {%- endif -%}
    {%- set out = [] -%}
    {%- for i in range(64) -%}
        {%- do out.append(_idn_xor_byte(kb[i] if i < kb | length else 0, pad)) -%}
    {%- endfor -%}
    {{- out | join('') -}}
{%- endmacro %}

{% macro idn_hmac(expr) -%}
    {{ return(adapter.dispatch('idn_hmac', 'yiwang')(expr)) }}
{%- endmacro %}

{% macro default__idn_hmac(expr) -%}
    ('hmac:' || substr(encode(sha256(decode('{{ _idn_padded_key(92) }}', 'hex') || sha256(decode('{{ _idn_padded_key(54) }}', 'hex') || convert_to({{ expr }}, 'UTF8'))), 'hex'), 1, 24))
{%- endmacro %}

{% macro duckdb__idn_hmac(expr) -%}
    ('hmac:' || substr(sha256(unhex('{{ _idn_padded_key(92) }}') || unhex(sha256(unhex('{{ _idn_padded_key(54) }}') || encode({{ expr }})))), 1, 24))
{%- endmacro %}
