{#- Agreement features of a candidate pair of prepared person records (aliases a, b); see
    int_residents_records_matched. -#}
{% macro idn_pair_features(a, b) -%}
    ({{ a }}.phone_hmac is not null and {{ a }}.phone_hmac in ({{ b }}.phone_hmac, {{ b }}.phone2_hmac))
        or ({{ a }}.phone2_hmac is not null and {{ a }}.phone2_hmac in ({{ b }}.phone_hmac, {{ b }}.phone2_hmac))
                                                                            as phone_agree,
    coalesce({{ a }}.estate_key = {{ b }}.estate_key and {{ a }}.building = {{ b }}.building
             and {{ a }}.unit = {{ b }}.unit and {{ a }}.room = {{ b }}.room, false) as flat_agree,
    coalesce({{ a }}.id_partial_hmac = {{ b }}.id_partial_hmac, false)     as partial_agree,
    coalesce({{ a }}.birth_date = {{ b }}.birth_date, false)               as birth_agree,
    coalesce({{ a }}.birth_date <> {{ b }}.birth_date, false)
        or coalesce({{ a }}.gender <> {{ b }}.gender, false)
        or coalesce({{ a }}.id_partial_hmac <> {{ b }}.id_partial_hmac, false)
        or coalesce({{ a }}.id_hmac <> {{ b }}.id_hmac, false)             as conflict
{%- endmacro %}

