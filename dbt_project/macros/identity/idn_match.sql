{#- Agreement features of a candidate pair of prepared person records (aliases a, b); see
    int_residents_records_matched. -#}
{% macro idn_pair_features(a, b) -%}
    coalesce({{ a }}.phone_hmac in ({{ b }}.phone_hmac, {{ b }}.phone2_hmac), false)
        or coalesce({{ a }}.phone2_hmac in ({{ b }}.phone_hmac, {{ b }}.phone2_hmac), false) as phone_agree,
    coalesce({{ a }}.estate_key = {{ b }}.estate_key and {{ a }}.building = {{ b }}.building
             and {{ a }}.unit = {{ b }}.unit and {{ a }}.room = {{ b }}.room, false) as flat_agree,
    ({{ a }}.room is not null and {{ a }}.estate_key is not null and {{ a }}.building is not null and {{ a }}.unit is not null
     and {{ b }}.room is not null and {{ b }}.estate_key is not null and {{ b }}.building is not null
     and {{ b }}.unit is not null)                                          as flat_compared,
    coalesce({{ a }}.id_partial_hmac = {{ b }}.id_partial_hmac, false)     as partial_agree,
    coalesce({{ a }}.birth_date = {{ b }}.birth_date, false)               as birth_agree,
    coalesce({{ a }}.birth_date <> {{ b }}.birth_date, false)
        or coalesce({{ a }}.gender <> {{ b }}.gender, false)
        or coalesce({{ a }}.id_partial_hmac <> {{ b }}.id_partial_hmac, false)
        or coalesce({{ a }}.id_hmac <> {{ b }}.id_hmac, false)             as conflict
{%- endmacro %}


{#- Fellegi–Sunter match weight (log2 odds) of a scored pair `a` (columns of idn_pair_features and w_name)
    with the learnt weights `w` (int_residents_records_matched's w CTE): the prior, the name's term-frequency
    weight, and for each other field its agreement weight, or its disagreement weight where a flat is on
    both records and differs. Phones that differ are weighed per cluster, not per pair (see the model). -#}
{% macro idn_pair_weight(a, w) -%}
    ({{ w }}.w_prior + {{ a }}.w_name
     + case when {{ a }}.phone_agree then {{ w }}.w_phone else 0 end
     + case when {{ a }}.flat_agree then {{ w }}.w_flat
            when {{ a }}.flat_compared then {{ w }}.w_flat_differs else 0 end
     + case when {{ a }}.partial_agree then {{ w }}.w_partial else 0 end
     + case when {{ a }}.birth_agree then {{ w }}.w_birth else 0 end)
{%- endmacro %}
