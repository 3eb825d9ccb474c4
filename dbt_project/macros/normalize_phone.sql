{#- Phone numbers.

    phone_columns(expr, prefix='phone') emits:
      {prefix}        first number: digits only, +86/0086/86 dropped; mobiles 1[3-9]xxxxxxxxx,
                      landlines with area code 0xx(x)xxxxxxx(x), or a local landline of 7-8 digits
      {prefix}_2      second number when the field held two ("138... / 139...", "138...,027...",
                      or two mobiles run together)
      {prefix}_kind   kind of the first: 'mobile' | 'landline' | 'landline_local' | 'placeholder'
                      | 'invalid' | 'null'
    Placeholders (13800000000, one digit repeated) become NULL with kind 'placeholder'.
-#}

{% macro _phone_unified(expr) -%}
    {{ regex_replace_all(
        "translate(" ~ expr ~ ", '０１２３４５６７８９（）＋，；、／｜　－', '0123456789()+,;,/| -')",
        '[,;/|]+|或', ',') }}
{%- endmacro %}

{% macro _phone_strip_prefix(d) -%}
    (case
        when {{ d }} like '0086%' then substr({{ d }}, 5)
        when length({{ d }}) = 13 and {{ d }} like '861%' then substr({{ d }}, 3)
        when length({{ d }}) between 11 and 13 and {{ d }} like '86%'
             and substr({{ d }}, 3, 1) between '2' and '9' then '0' || substr({{ d }}, 3)
        else {{ d }}
    end)
{%- endmacro %}

{#- Digits of the n-th number (1 or 2) in the field. -#}
{% macro phone_part_digits(expr, n) -%}
    {%- set u = _phone_unified(expr) -%}
    {%- set d1 = _phone_strip_prefix(regex_replace_all("split_part(" ~ u ~ ", ',', 1)", '[^0-9]', '')) -%}
    {%- set dn = _phone_strip_prefix(regex_replace_all("split_part(" ~ u ~ ", ',', " ~ n ~ ")", '[^0-9]', '')) -%}
    (case
        when {{ regex_like(d1, '^1[3-9][0-9]{9}1[3-9][0-9]{9}$') }}
            then substr({{ d1 }}, {{ 1 if n == 1 else 12 }}, 11)
        else nullif({{ dn }}, '')
    end)
{%- endmacro %}

{% macro phone_kind(d) -%}
    (case
        when {{ d }} is null then 'null'
        when {{ d }} = '13800000000' or replace({{ d }}, substr({{ d }}, 1, 1), '') = '' then 'placeholder'
        when {{ regex_like(d, '^1[3-9][0-9]{9}$') }} then 'mobile'
        when {{ regex_like(d, '^0[1-9][0-9]{1,2}[2-9][0-9]{6,7}$') }} then 'landline'
        when {{ regex_like(d, '^[2-9][0-9]{6,7}$') }} then 'landline_local'
        else 'invalid'
    end)
{%- endmacro %}

{% macro phone_normalize(expr, n=1) -%}
    {%- set d = phone_part_digits(expr, n) -%}
    (case when {{ phone_kind(d) }} in ('mobile', 'landline', 'landline_local') then {{ d }} end)
{%- endmacro %}

{% macro phone_columns(expr, prefix='phone') -%}
    {{ phone_normalize(expr, 1) }} as {{ prefix }},
    {{ phone_normalize(expr, 2) }} as {{ prefix }}_2,
    {{ phone_kind(phone_part_digits(expr, 1)) }} as {{ prefix }}_kind
{%- endmacro %}
