{#- How the raw gate reads a raw value: with staging's own normalisers, so that the gate and staging can
    never disagree on what is readable. expectations/run.py compiles
    `{{ tojson(raw_reader_templates('__COL__')) }}` once per warehouse type and substitutes each raw column
    for __COL__. A kind's expression is NULL where staging cannot read the value.

    blank: the value says "nothing" (empty, whitespace, or a literal null token such as "null" or "无"):
    staging reads it as NULL, which is what it means, so a blank value is never a reason to quarantine
    a row unless the field is a key or the cursor. -#}
{% macro null_tokens() -%}
    {{ return(['null', 'none', 'nil', 'n/a', 'na', '#n/a', '无', '空', '（空）', '(空)']) }}
{%- endmacro %}

{% macro is_blank(expr) -%}
    ({{ clean_text(expr) }} is null or lower({{ clean_text(expr) }}) in (
        {%- for t in null_tokens() %}'{{ t }}'{{ ', ' if not loop.last }}{% endfor %}))
{%- endmacro %}

{% macro raw_reader_templates(col) -%}
    {{ return({
        'blank': is_blank(col),
        'text': clean_text(col),
        'date': parse_date(col),
        'timestamp': parse_local_ts(col),
        'int': 'cast(' ~ to_int(col) ~ ' as varchar)',
        'decimal': 'cast(' ~ to_decimal(col) ~ ' as varchar)',
        'bool': 'cast(' ~ to_bool(col) ~ ' as varchar)',
        'gender': normalize_gender(col),
        'satisfaction': normalize_satisfaction(col),
        'uscc': normalize_uscc(col),
        'org_code': 'coalesce(' ~ normalize_uscc(col) ~ ', ' ~ legacy_org_code(col) ~ ')',
    }) }}
{%- endmacro %}
