{#- Adapter-dispatched primitives. Everything else in macros/ is portable SQL built on these.
    DuckDB uses RE2, PostgreSQL ARE: patterns here stick to the common subset
    (character classes, {m,n}, (?:...), alternation, anchors; no back-references). -#}

{#- True when `expr` contains a match of `pattern` (anchor it for a full match). -#}
{% macro regex_like(expr, pattern) -%}
    {{ return(adapter.dispatch('regex_like', 'yiwang')(expr, pattern)) }}
{%- endmacro %}
{% macro default__regex_like(expr, pattern) -%}
    ({{ expr }} ~ '{{ pattern }}')
{%- endmacro %}
{% macro duckdb__regex_like(expr, pattern) -%}
    regexp_matches({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{#- Capture group `group` of the first match of `pattern`, NULL when there is no match
    or the group did not participate. -#}
{% macro regex_extract(expr, pattern, group=1) -%}
    {{ return(adapter.dispatch('regex_extract', 'yiwang')(expr, pattern, group)) }}
{%- endmacro %}
{% macro default__regex_extract(expr, pattern, group=1) -%}
    nullif((regexp_match({{ expr }}, '{{ pattern }}'))[{{ group }}], '')
{%- endmacro %}
{% macro duckdb__regex_extract(expr, pattern, group=1) -%}
    nullif(regexp_extract({{ expr }}, '{{ pattern }}', {{ group }}), '')
{%- endmacro %}

{#- Replace every match (both engines: regexp_replace(s, p, r, 'g')). -#}
{% macro regex_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{#- One row per element of a comma-separated text value (set-returning, for the select list). -#}
{% macro unnest_csv(expr) -%}
    {{ return(adapter.dispatch('unnest_csv', 'yiwang')(expr)) }}
{%- endmacro %}
{% macro default__unnest_csv(expr) -%}
    unnest(string_to_array({{ expr }}, ','))
{%- endmacro %}
{% macro duckdb__unnest_csv(expr) -%}
    unnest(string_split({{ expr }}, ','))
{%- endmacro %}

{#- translate_chars(expr, from_chars, to_chars): translate() with a map of printable characters (Python strings).
    DuckDB's translate() builds its character map again for every value, ~10 µs a row for a 45-character map
    (place_clean): there a value holding none of the characters (nearly every one) is returned after one
    regex test of the character class instead, 30x faster and the same result. -#}
{% macro translate_chars(expr, from_chars, to_chars) -%}
    {{ return(adapter.dispatch('translate_chars', 'yiwang')(expr, from_chars, to_chars)) }}
{%- endmacro %}
{% macro default__translate_chars(expr, from_chars, to_chars) -%}
    translate({{ expr }}, '{{ from_chars }}', '{{ to_chars }}')
{%- endmacro %}
{% macro duckdb__translate_chars(expr, from_chars, to_chars) -%}
    {%- set cls = from_chars | replace('\\', '\\\\') | replace(']', '\\]') | replace('[', '\\[') | replace('^', '\\^') | replace('-', '\\-') -%}
    {{ let_in(expr, "(case when regexp_matches(__tr, '[" ~ cls ~ "]') then translate(__tr, '" ~ from_chars ~ "', '"
        ~ to_chars ~ "') else __tr end)", '__tr') }}
{%- endmacro %}

{#- Blank (NULL, empty, only spaces incl. the ideographic space) -> NULL, otherwise trimmed. -#}
{% macro clean_text(expr) -%}
    {{ return(adapter.dispatch('clean_text', 'yiwang')(expr)) }}
{%- endmacro %}
{% macro default__clean_text(expr) -%}
    nullif(trim(translate({{ expr }}, '　' || chr(9) || chr(10) || chr(13), '    ')), '')
{%- endmacro %}
{#- DuckDB: the translate only for a value holding one of the four (translate_chars) -#}
{% macro duckdb__clean_text(expr) -%}
    nullif(trim({{ let_in(expr, "(case when regexp_matches(__ct, '[　\\t\\n\\r]') then translate(__ct, '　' || chr(9) || chr(10) || chr(13), '    ') else __ct end)", '__ct') }}), '')
{%- endmacro %}

{#- let_in(value_expr, body, name): evaluate `value_expr` once and use it as `name` in `body`.
    Neither engine shares a repeated sub-expression inside the result branches of a CASE: PostgreSQL never
    shares them, and DuckDB's common-subexpression pass does not look into THEN / ELSE (they may not run),
    so a body that refers to an expensive value (a regex result) there re-runs it each time (the ID check
    char alone refers to the cleaned ID 17 times). PostgreSQL binds the value in a one-row
    scalar subquery; DuckDB as the parameter of a lambda over a one-element list (DuckDB would plan the
    correlated subquery as a join), which computes it once a row: 10x faster on the ID normaliser.
    `name` must be a token that appears nowhere else in `body`. -#}
{% macro let_in(value_expr, body, name) -%}
    {{ return(adapter.dispatch('let_in', 'yiwang')(value_expr, body, name)) }}
{%- endmacro %}
{% macro default__let_in(value_expr, body, name) -%}
    (select {{ body }} from (select {{ value_expr }} as {{ name }}) as {{ name }}_let)
{%- endmacro %}
{% macro duckdb__let_in(value_expr, body, name) -%}
    {%- if modules.re.fullmatch('[A-Za-z_][A-Za-z0-9_]*([.][A-Za-z_][A-Za-z0-9_]*)?|"[^"]+"', value_expr | trim) -%}
        {{ let_inline(value_expr, body, name) }}
    {%- else -%}
        list_transform([{{ value_expr }}], lambda {{ name }}: {{ body }})[1]
    {%- endif -%}
{%- endmacro %}

{#- let_inline(value_expr, body, name): `name` in `body` replaced by the expression itself (evaluated where it
    appears). On DuckDB for a column (nothing to compute) and for a body a lambda would slow down: a constant
    regex in a lambda body costs more than outside (the 4,102-character class of to_simplified: 0.17 s
    instead of 0.03 s over 49,481 names). -#}
{% macro let_inline(value_expr, body, name) -%}
    {{ body | replace(name, '(' ~ value_expr ~ ')') }}
{%- endmacro %}

{#- Mean of a numeric expression that does not depend on the order rows are added in: the values are
    summed as exact decimals (scale 12), so a rebuild of the same data gives the same bytes. -#}
{% macro exact_avg(expr) -%}
    cast(avg(cast({{ expr }} as numeric(30, 12))) as double precision)
{%- endmacro %}

{#- A number in [0, 1) fixed by the text `expr` (the first 32 bits of its MD5): the same on every run and
    both engines, for deterministic sampling (a row is in a sample of rate r when hash_unit(key) < r). -#}
{% macro hash_unit(expr) -%}
    {{ return(adapter.dispatch('hash_unit', 'yiwang')(expr)) }}
{%- endmacro %}
{% macro default__hash_unit(expr) -%}
    (cast(cast(('x' || substr(md5({{ expr }}), 1, 8)) as bit(32)) as bigint) / 4294967296.0)
{%- endmacro %}
{% macro duckdb__hash_unit(expr) -%}
    (cast(('0x' || substr(md5({{ expr }}), 1, 8)) as bigint) / 4294967296.0)
{%- endmacro %}
