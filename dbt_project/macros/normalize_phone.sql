{#- Phone numbers.

    phone_columns(expr, prefix='phone') emits:
      {prefix}        first number: digits only, +86/0086/86 dropped; mobiles 1[3-9]xxxxxxxxx,
                      landlines with area code 0xx(x)xxxxxxx(x), or a local landline of 7-8 digits
      {prefix}_2      second number when the field held two ("138... / 139...", "138...,027...",
                      or two mobiles run together)
      {prefix}_kind   kind of the first: 'mobile' | 'landline' | 'landline_local' | 'placeholder'
                      | 'invalid' | 'null'
    Placeholders (13800000000, one digit repeated) become NULL with kind 'placeholder'.
    Built as a linear chain of regexp_replace calls (no repeated sub-expressions) so the SQL
    stays small on both engines.
-#}

{#- The field as 'digits[,digits]': separators unified to ',', everything else but digits removed,
    country prefixes dropped per number, two mobiles run together split. -#}
{% macro phone_digit_list(expr) -%}
    {%- set s = translate_chars(expr, '０１２３４５６７８９，；、／｜', '0123456789,;,/|') -%}
    {%- set s = regex_replace_all(s, '[;/|]|或', ',') -%}
    {%- set s = regex_replace_all(s, '[^0-9,]', '') -%}
    {%- set s = regex_replace_all(s, ',+', ',') -%}
    {%- set s = regex_replace_all(s, '(^|,)(1[3-9][0-9]{9})(1[3-9][0-9]{9})(,|$)', '\\1\\2,\\3\\4') -%}
    {%- set s = regex_replace_all(s, '(^|,)0086', '\\1') -%}
    {%- set s = regex_replace_all(s, '(^|,)86(1[3-9][0-9]{9})(,|$)', '\\1\\2\\3') -%}
    {%- set s = regex_replace_all(s, '(^|,)86([2-9][0-9]{8,10})(,|$)', '\\1' ~ '0\\2\\3') -%}
    {%- set s = regex_replace_all(s, '^,', '') -%}
    {{ s }}
{%- endmacro %}

{% macro phone_part_digits(expr, n) -%}
    nullif(split_part({{ phone_digit_list(expr) }}, ',', {{ n }}), '')
{%- endmacro %}

{% macro phone_kind(d) -%}
    (case
        when {{ d }} is null then 'null'
        when {{ regex_like(d, '^(13800000000|0+|1+|2+|3+|4+|5+|6+|7+|8+|9+)$') }} then 'placeholder'
        when {{ regex_like(d, '^1[3-9][0-9]{9}$') }} then 'mobile'
        when {{ regex_like(d, '^0[1-9][0-9]{1,2}[2-9][0-9]{6,7}$') }} then 'landline'
        when {{ regex_like(d, '^[2-9][0-9]{6,7}$') }} then 'landline_local'
        else 'invalid'
    end)
{%- endmacro %}

{#- Digits of the n-th number when it is a usable phone, else NULL. -#}
{#- Digits of the n-th number when it is a usable phone, else NULL. -#}
{% macro phone_normalize(expr, n=1) -%}
    {{ let_in(phone_part_digits(expr, n),
        "(case when " ~ regex_like('__pd', '^(1[3-9][0-9]{9}|0[1-9][0-9]{1,2}[2-9][0-9]{6,7}|[2-9][0-9]{6,7})$') ~ "
           and not " ~ regex_like('__pd', '^(13800000000|0+|1+|2+|3+|4+|5+|6+|7+|8+|9+)$') ~ "
          then __pd end)", '__pd') }}
{%- endmacro %}

{% macro phone_columns(expr, prefix='phone') -%}
    {{ phone_normalize(expr, 1) }} as {{ prefix }},
    {{ phone_normalize(expr, 2) }} as {{ prefix }}_2,
    {{ let_in(phone_part_digits(expr, 1), phone_kind('__pd'), '__pd') }} as {{ prefix }}_kind
{%- endmacro %}
