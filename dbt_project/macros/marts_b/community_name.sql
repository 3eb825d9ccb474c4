{#- Community text (前进社区 / 前进社区居委会 / 前进居委会 / 前进) -> the 社区 division name (前进社区):
    居委会 removed, 社区 appended when missing; NULL stays NULL. -#}
{% macro community_name_from_text(expr) -%}
    (case
        when {{ clean_text(expr) }} is null then null
        when {{ regex_like("regexp_replace(" ~ clean_text(expr) ~ ", '居委会$', '')", '社区$') }}
            then regexp_replace({{ clean_text(expr) }}, '居委会$', '')
        else regexp_replace({{ clean_text(expr) }}, '居委会$', '') || '社区'
    end)
{%- endmacro %}

