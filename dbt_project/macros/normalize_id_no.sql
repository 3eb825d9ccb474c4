{#- Citizen ID numbers (GB 11643-1999).

    id_no_columns(expr, prefix='id_no') emits four columns:
      {prefix}         normalised 18-char ID, or NULL when it cannot be recovered
      {prefix}_valid   true when the (possibly computed) MOD 11-2 check char is right
      {prefix}_kind    '18' | '15-upgraded' | 'masked' | 'excel_mangled' | 'invalid' | 'null'
      {prefix}_masked  the cleaned masked value (420106********1234) kept as partial evidence
    Cleaning: full-width -> half-width, spaces / hyphens removed, lowercase x -> X.
    A legacy 15-digit ID is upgraded: area(6) || '19' || yyMMdd + seq(9) || computed check char.
    An Excel-mangled value (4.20103E+17) lost its digits: NULL id, kind 'excel_mangled'.
-#}

{% macro id_no_clean(expr) -%}
    nullif(upper({{ regex_replace_all(
        "translate(" ~ expr ~ ", '０１２３４５６７８９ＸｘＥｅ＋．＊－　', '0123456789XxEe+.*- ')",
        '[[:space:]_—-]', '') }}), '')
{%- endmacro %}

{#- ISO 7064 MOD 11-2 check char of a 17-digit body (any non-digit counts as -1, so a
    malformed body yields a wrong check char instead of a cast error). -#}
{% macro id_check_char(body) -%}
    {%- set weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] -%}
    substr('10X98765432', ((
        {%- for w in weights %}
        (strpos('0123456789', substr({{ body }}, {{ loop.index }}, 1)) - 1) * {{ w }}{{ ' +' if not loop.last }}
        {%- endfor %}
    ) % 11 + 11) % 11 + 1, 1)
{%- endmacro %}

{% macro id_no_kind(clean) -%}
    (case
        when {{ clean }} is null then 'null'
        when {{ regex_like(clean, '^[0-9]+(\\.[0-9]+)?E\\+?[0-9]+$') }} then 'excel_mangled'
        when strpos({{ clean }}, '*') > 0 then 'masked'
        when {{ regex_like(clean, '^[0-9]{17}[0-9X]$') }} then '18'
        when {{ regex_like(clean, '^[0-9]{15}$') }} then '15-upgraded'
        else 'invalid'
    end)
{%- endmacro %}

{% macro id_no_upgraded_body(clean) -%}
    (substr({{ clean }}, 1, 6) || '19' || substr({{ clean }}, 7, 9))
{%- endmacro %}

{% macro id_no_normalize(expr) -%}
    {%- set c = id_no_clean(expr) -%}
    {%- set k = id_no_kind(c) -%}
    (case {{ k }}
        when '18' then {{ c }}
        when '15-upgraded' then {{ id_no_upgraded_body(c) }} || {{ id_check_char(id_no_upgraded_body(c)) }}
    end)
{%- endmacro %}

{% macro id_no_is_valid(expr) -%}
    {%- set c = id_no_clean(expr) -%}
    {%- set k = id_no_kind(c) -%}
    (case {{ k }}
        when '18' then substr({{ c }}, 18, 1) = {{ id_check_char("substr(" ~ c ~ ", 1, 17)") }}
        when '15-upgraded' then true
        else false
    end)
{%- endmacro %}

{% macro id_no_columns(expr, prefix='id_no') -%}
    {%- set c = id_no_clean(expr) -%}
    {{ id_no_normalize(expr) }} as {{ prefix }},
    {{ id_no_is_valid(expr) }} as {{ prefix }}_valid,
    {{ id_no_kind(c) }} as {{ prefix }}_kind,
    (case when {{ id_no_kind(c) }} = 'masked' then {{ c }} end) as {{ prefix }}_masked
{%- endmacro %}
