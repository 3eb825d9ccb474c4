{#- Generic data test: no text column of `model` holds something shaped like a citizen ID (15 or 18
    digits, last may be X) or a mainland mobile number (1[3-9] + 9 digits). Columns that carry source
    record keys (contract keys such as approval case numbers are long digit strings) are excluded by
    name (`exclude_columns`, default: every column ending in source_key, and grid_code — 15-digit
    grid codes are place codes, not ID numbers). -#}
{% test no_raw_personal_numbers(model, exclude_columns=none) %}
    {%- set cols = adapter.get_columns_in_relation(model) -%}
    {%- set checked = [] -%}
    {%- for c in cols -%}
        {%- set n = c.name | lower -%}
        {%- if (exclude_columns is none and not n.endswith('source_key') and n != 'grid_code') or (exclude_columns is not none and n not in exclude_columns) -%}
            {%- do checked.append(c.name) -%}
        {%- endif -%}
    {%- endfor %}
    {%- if checked | length == 0 %}
    select 1 as col where 1 = 0
    {%- else %}
    {%- for c in checked %}
    select '{{ c }}' as column_name, cast({{ adapter.quote(c) }} as varchar) as value
    from {{ model }}
    where {{ regex_like("cast(" ~ adapter.quote(c) ~ " as varchar)", '([0-9]{17}[0-9Xx]|[0-9]{15}|1[3-9][0-9]{9})') }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
    {%- endif %}
{% endtest %}
