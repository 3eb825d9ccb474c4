{#- Chinese numerals in place texts ("三网格", "十二栋", "五〇一", "一百零五").

    cn_to_int(expr): text -> integer, NULL when it is not a number. Accepts ASCII and full-width
    digits ("12", "１２"), digit-by-digit Chinese numerals ("五〇一", "一二", "一零零一"), and positional
    numerals up to 9999 with 千 / 百 / 十 ("三", "十", "十二", "二十三", "一百零五", "三百", "一千零一";
    两 = 二, 零 = 〇; a 零 inside a positional numeral only holds a place).
    cn_number_text(expr): the same as digits text, leading zeros of a digit-by-digit numeral kept
    ("〇一" -> "01"), NULL when it is not a number.
-#}
{% macro cn_digits_to_ascii(expr) -%}
    {{ translate_chars(expr, '〇零一二两三四五六七八九０１２３４５６７８９', '0012234567890123456789') }}
{%- endmacro %}

{#- Value of one positional unit (千 / 百 / 十) in an ASCII-digit text `v`: the digit before it
    (1 when the unit opens the numeral, "十二"), 0 when the unit is absent. -#}
{% macro _cn_unit(v, unit) -%}
    (case when strpos({{ v }}, '{{ unit }}') > 0
          then coalesce(cast({{ regex_extract(v, '([0-9])' ~ unit, 1) }} as integer), 1) else 0 end)
{%- endmacro %}

{% macro cn_to_int(expr) -%}
    {{ let_in(cn_digits_to_ascii(clean_text(expr)), "(case
        when " ~ regex_like('__cnv', '^[0-9]{1,9}$') ~ " then cast(__cnv as integer)
        when " ~ regex_like('__cnv', '^(?:[1-9]千)?0?(?:[1-9]百)?0?(?:[1-9]?十)?[0-9]?$') ~ "
         and " ~ regex_like('__cnv', '[千百十]') ~ " then
            " ~ _cn_unit('__cnv', '千') ~ " * 1000 + " ~ _cn_unit('__cnv', '百') ~ " * 100
            + " ~ _cn_unit('__cnv', '十') ~ " * 10
            + coalesce(cast(" ~ regex_extract('__cnv', '([0-9])$', 1) ~ " as integer), 0)
    end)", '__cnv') }}
{%- endmacro %}

{% macro cn_number_text(expr) -%}
    {{ let_in(cn_digits_to_ascii(clean_text(expr)), "(case
        when " ~ regex_like('__cnt', '^[0-9]+$') ~ " then __cnt
        else cast(" ~ cn_to_int('__cnt') ~ " as varchar)
    end)", '__cnt') }}
{%- endmacro %}
