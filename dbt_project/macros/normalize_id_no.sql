{#- Citizen ID numbers (GB 11643-1999).

    id_no_columns(expr, prefix='id_no') emits four columns:
      {prefix}         normalised 18-char ID, or NULL when it cannot be recovered
      {prefix}_valid   true when the (possibly computed) MOD 11-2 check char is right
      {prefix}_kind    '18' | '15-upgraded' | 'masked' | 'excel_mangled' | 'invalid' | 'null'
      {prefix}_masked  the cleaned masked value (420106********1234) kept as partial evidence
    Cleaning: full-width -> half-width (NFKC for the characters IDs use, so a full-width check char Ｘ
    or ｘ is X), spaces / hyphens removed, lowercase x -> X; "null", 无 and the other words for "no
    value" (id_no_null_words) -> NULL.
    A legacy 15-digit ID is upgraded: area(6) || '19' || yyMMdd + seq(9) || computed check char.
    An Excel-mangled value (4.20103E+17) lost its digits: NULL id, kind 'excel_mangled'.
-#}

{#- A field that spells "no value" instead of leaving it empty is NULL: the words exports and
    typists use for a missing value (NULL, NONE, NIL, N/A, NA; 无 "none", 暂无 "none yet", 空 "empty")
    and a lone slash. Compared after cleaning (upper case, no spaces). -#}
{% macro id_no_null_words() -%}
    {{ return(['NULL', 'NONE', 'NIL', 'N/A', 'NA', '无', '暂无', '空', '/']) }}
{%- endmacro %}

{% macro id_no_clean(expr) -%}
    {#- one CASE, not nested nullif() calls: DuckDB expands nullif(a, b) into a CASE that repeats a -#}
    {%- set v = "upper(" ~ regex_replace_all(
        translate_chars(expr, '０１２３４５６７８９ＸｘＥｅ＋．＊－　／', '0123456789XxEe+.*- /'),
        '[[:space:]_—-]', '') ~ ")" -%}
    (case when {{ v }} in ('', '{{ id_no_null_words() | join("', '") }}') then null else {{ v }} end)
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

{#- The macros below take the raw expression; the cleaned value is bound once (let_in). -#}
{% macro id_no_normalize(expr) -%}
    {{ let_in(id_no_clean(expr), "(case " ~ id_no_kind('__idc') ~ "
        when '18' then __idc
        when '15-upgraded' then " ~ id_no_upgraded_body('__idc') ~ " || " ~ id_check_char(id_no_upgraded_body('__idc')) ~ "
    end)", '__idc') }}
{%- endmacro %}

{% macro id_no_is_valid(expr) -%}
    {{ let_in(id_no_clean(expr), "(case " ~ id_no_kind('__idc') ~ "
        when '18' then substr(__idc, 18, 1) = " ~ id_check_char('substr(__idc, 1, 17)') ~ "
        when '15-upgraded' then true
        else false
    end)", '__idc') }}
{%- endmacro %}

{% macro id_no_kind_of(expr) -%}
    {{ let_in(id_no_clean(expr), id_no_kind('__idc'), '__idc') }}
{%- endmacro %}

{% macro id_no_masked_of(expr) -%}
    {{ let_in(id_no_clean(expr), "(case when strpos(__idc, '*') > 0 then __idc end)", '__idc') }}
{%- endmacro %}

{% macro id_no_columns(expr, prefix='id_no') -%}
    {{ id_no_normalize(expr) }} as {{ prefix }},
    {{ id_no_is_valid(expr) }} as {{ prefix }}_valid,
    {{ id_no_kind_of(expr) }} as {{ prefix }}_kind,
    {{ id_no_masked_of(expr) }} as {{ prefix }}_masked
{%- endmacro %}
