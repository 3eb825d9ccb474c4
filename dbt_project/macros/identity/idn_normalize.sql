{#- Matching-ready normalisers for person records (identity layer). Portable: built only on the
    cross-db primitives in macros/cross_db.sql (RE2 / ARE common subset). -#}

{#- Name comparison key: the staging-cleaned name (simplified, suffix and spaces gone, minority
    separators unified to U+00B7) with the separator itself dropped, so 买买提·艾力, 买买提.艾力 and
    买买提艾力 compare equal. Surnames are not folded: 肖 and 萧 (traditional 蕭) are different surnames.
    Pinyin-free: comparisons are on the characters. -#}
{% macro idn_name_key(expr) -%}
    nullif(replace({{ expr }}, '·', ''), '')
{%- endmacro %}

{#- Display mask 张* / 买*** (first character kept). -#}
{% macro idn_mask_name(expr) -%}
    (case when {{ expr }} is not null then substr({{ expr }}, 1, 1) || repeat('*', greatest(length({{ expr }}) - 1, 1)) end)
{%- endmacro %}

{#- Phone digits (as staging leaves them) -> E.164: mobiles and area-coded landlines get +86 and lose
    the trunk 0; a local landline without area code stays NULL (not comparable across cities). -#}
{% macro idn_phone_e164(digits) -%}
    (case
        when {{ regex_like(digits, '^1[3-9][0-9]{9}$') }} then '+86' || {{ digits }}
        when {{ regex_like(digits, '^0[1-9][0-9]{8,10}$') }} then '+86' || substr({{ digits }}, 2)
    end)
{%- endmacro %}

{#- Display mask 138****5678 of a digits value. -#}
{% macro idn_mask_phone(digits) -%}
    (case when length({{ digits }}) >= 11 then substr({{ digits }}, 1, 3) || '****' || substr({{ digits }}, length({{ digits }}) - 3, 4) end)
{%- endmacro %}

{#- Partial-ID evidence "first 6 + last 4" from a valid 18-char ID or a masked one
    (420106********1234). NULL otherwise: an ID whose check char is wrong (often an Excel-mangled
    number with lost digits) gives no reliable last 4. -#}
{% macro idn_id_partial(id_no, id_masked, id_valid='true') -%}
    (case
        when {{ id_no }} is not null and {{ id_valid }} then substr({{ id_no }}, 1, 6) || substr({{ id_no }}, 15, 4)
        when {{ regex_like(id_masked, '^[0-9]{6}[*]+[0-9]{3}[0-9X]$') }}
            then substr({{ id_masked }}, 1, 6) || substr({{ id_masked }}, length({{ id_masked }}) - 3, 4)
    end)
{%- endmacro %}

{#- A legacy 15-digit ID carries a 2-digit birth year; the normaliser upgrades it with century '19'
    (normalize_id_no.sql). Re-centuried to '20' (new check char) when the record's own birth date says
    20yy for the same yyMMdd, or, without a birth date, when '19' would make the holder more than 105
    years old at the record's date. Any other ID passes through unchanged. -#}
{% macro idn_legacy_century(id_no, id_kind, birth_date, ref_date) -%}
    {%- set body_20 = "(substr(" ~ id_no ~ ", 1, 6) || '20' || substr(" ~ id_no ~ ", 9, 9))" -%}
    (case
        when {{ id_kind }} = '15-upgraded' and (
            ({{ birth_date }} is not null and extract(year from {{ birth_date }}) >= 2000
             and cast(extract(year from {{ birth_date }}) as integer) % 100 = cast(substr({{ id_no }}, 9, 2) as integer)
             and cast(extract(month from {{ birth_date }}) as integer) = cast(substr({{ id_no }}, 11, 2) as integer)
             and cast(extract(day from {{ birth_date }}) as integer) = cast(substr({{ id_no }}, 13, 2) as integer))
            or ({{ birth_date }} is null
                and cast(substr({{ id_no }}, 7, 4) as integer) + 105
                    < cast(extract(year from coalesce({{ ref_date }}, current_date)) as integer)))
            then {{ body_20 }} || {{ id_check_char(body_20) }}
        else {{ id_no }}
    end)
{%- endmacro %}

{#- Birth date encoded in an 18-char ID (chars 7-14), NULL when not a calendar date. -#}
{% macro idn_birth_from_id(id_no) -%}
    {{ safe_make_date(
        "cast(substr(" ~ id_no ~ ", 7, 4) as integer)",
        "cast(substr(" ~ id_no ~ ", 11, 2) as integer)",
        "cast(substr(" ~ id_no ~ ", 13, 2) as integer)") }}
{%- endmacro %}

{#- Addresses and estates: the identity layer uses the place normalisers of macros/places/place_text.sql
    (one normaliser for addresses, one for estate names, everywhere); these names are kept for its models. -#}

{#- Address text -> canonical form (address_clean): full-width -> half-width, blanks gone, the house number
    in any form (三栋二单元五〇一, 3号楼2单元501室, 3-2-501) -> 3栋2单元501. -#}
{% macro idn_address_clean(expr) -%}
    {{ address_clean(expr) }}
{%- endmacro %}

{#- A whole flat in an address_clean text: group 1 = everything before it (province/city/district/estate),
    2 building, 3 unit, 4 room. -#}
{% macro idn_flat_pattern() -%}
    ^(.*[^0-9])?([0-9]+)栋([0-9]+)单元([0-9]+)$
{%- endmacro %}

{#- Estate comparison key: the estate name's core (estate_core of estate_name_norm: 友育华庭 / 友育小区 /
    友育华庭一期 -> 友育; 星河大厦 / 星河大楼 -> 星河), a numbered compound without 号院 / 号 (解放路12号院 /
    解放路12号 -> 解放路12). -#}
{% macro idn_estate_key(expr) -%}
    nullif(regexp_replace({{ estate_core(estate_name_norm(expr)) }}, '([0-9])号$', '\1'), '')
{%- endmacro %}

{#- Leading province / city / district / street names (strip_admin_prefix, used when no known district
    name was found in the text). -#}
{% macro idn_strip_admin_prefix(expr) -%}
    {{ strip_admin_prefix(expr, levels=['province', 'city', 'district', 'street']) }}
{%- endmacro %}

{#- A title-only name: a surname (one or two characters) and a form of address instead of a given name
    (李先生, 王女士, 欧阳小姐, 张师傅, 刘阿姨). Common in hotline and complaint records; it names no one, so it is
    never name evidence (two 李先生 sharing a family phone are not one person). idn_title_gender gives the
    sex the title states ('M', 'F'; NULL when it states none, as 师傅 / 老师 / 同志). -#}
{%- macro _idn_titles(sex=none, capture_surname=false) -%}
    {%- set titles = {
        'M': ['先生', '男士', '大爷', '大哥', '大叔', '爷爷'],
        'F': ['女士', '小姐', '太太', '夫人', '阿姨', '大妈', '大姐', '奶奶'],
        'none': ['师傅', '老师', '同志', '老板', '经理'],
    } -%}
    {%- set chosen = titles[sex] if sex else titles['M'] + titles['F'] + titles['none'] -%}
    {%- set lead = '([^0-9A-Za-z]{1,2})' if capture_surname else '[^0-9A-Za-z]{1,2}' -%}
    {{- return('^' ~ lead ~ '(' ~ chosen | join('|') ~ ')$') -}}
{%- endmacro %}

{% macro idn_title_only(expr) -%}
    coalesce({{ regex_like(expr, _idn_titles()) }}, false)
{%- endmacro %}

{#- The surname a title-only name gives (李 of 李先生, 欧阳 of 欧阳女士); NULL for any other name. -#}
{% macro idn_title_surname(expr) -%}
    {{ regex_extract(expr, _idn_titles(capture_surname=true), 1) }}
{%- endmacro %}

{% macro idn_title_gender(expr) -%}
    (case
        when {{ regex_like(expr, _idn_titles('M')) }} then 'M'
        when {{ regex_like(expr, _idn_titles('F')) }} then 'F'
    end)
{%- endmacro %}
