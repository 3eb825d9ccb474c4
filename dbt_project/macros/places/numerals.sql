{#- Chinese numerals in place texts ("三网格", "十二栋", "五〇一").

    cn_to_int(expr): text -> integer, NULL when it is not a number. Accepts ASCII and full-width
    digits ("12", "１２"), digit-by-digit Chinese numerals ("五〇一", "一二"), and positional
    numerals up to 99 ("三", "十", "十二", "二十", "二十三"; 两 = 二, 零 = 〇).
-#}
{% macro cn_digits_to_ascii(expr) -%}
    translate({{ expr }}, '〇零一二两三四五六七八九０１２３４５６７８９', '001223456789' || '0123456789')
{%- endmacro %}

{% macro cn_to_int(expr) -%}
    {{ let_in(cn_digits_to_ascii(clean_text(expr)), "(case
        when " ~ regex_like('__cnv', '^[0-9]{1,9}$') ~ " then cast(__cnv as integer)
        when " ~ regex_like('__cnv', '^[1-9]?十[0-9]?$') ~ " then
            coalesce(cast(nullif(split_part(__cnv, '十', 1), '') as integer), 1) * 10
            + coalesce(cast(nullif(split_part(__cnv, '十', 2), '') as integer), 0)
    end)", '__cnv') }}
{%- endmacro %}
