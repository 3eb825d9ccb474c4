{#- Organisation codes.
    GB 32100-2015 USCC: 18 chars from 0-9A-Z minus I, O, Z, S, V; char 18 is the GB/T 17710
    MOD 31 check char over chars 1-17 (weights 3^(i-1) mod 31).
    GB 11714 legacy organisation code: 8 body chars + check char, written 12345678-9; in a USCC
    it is chars 9-17 (so chars 9-16 are the body and char 17 its check char). -#}


{#- The check char of the 17-char body `body` (NULL-safe: any char outside the alphabet makes
    the result NULL). -#}
{% macro uscc_check_char(body) -%}
    {%- set alphabet = '0123456789ABCDEFGHJKLMNPQRTUWXY' -%}
    {%- set weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] -%}
    (case when {{ regex_like(body, '^[0-9A-HJ-NP-RT-UW-Y]{17}$') }} then
        substr('{{ alphabet }}', (31 - ((
            {%- for w in weights %}
            (strpos('{{ alphabet }}', substr({{ body }}, {{ loop.index }}, 1)) - 1) * {{ w }}{{ ' +' if not loop.last }}
            {%- endfor %}
        ) % 31)) % 31 + 1, 1)
    end)
{%- endmacro %}

{#- True when an (already normalised, uppercase) 18-char code carries the right check char. -#}
{% macro uscc_is_valid(uscc) -%}
    coalesce(substr({{ uscc }}, 18, 1) = {{ uscc_check_char('substr(' ~ uscc ~ ', 1, 17)') }}, false)
{%- endmacro %}

{#- The legacy organisation code embedded in a USCC, as XXXXXXXX-X. -#}
{% macro uscc_to_legacy_code(uscc) -%}
    (substr({{ uscc }}, 9, 8) || '-' || substr({{ uscc }}, 17, 1))
{%- endmacro %}

{#- Organisation name -> match form: no spaces or brackets, full-width letters/digits folded,
    "（" and "(" unified. -#}
{% macro org_name_key(expr) -%}
    nullif({{ regex_replace_all(translate_chars(clean_text(expr), '（）０１２３４５６７８９', '()0123456789'), '[[:space:]]', '') }}, '')
{%- endmacro %}
