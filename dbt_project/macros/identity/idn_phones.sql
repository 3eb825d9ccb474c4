{#- Phone evidence of the prepared person records, shared by the weight estimation
    (int_residents_match_weights) and the matching (int_residents_records_matched), so that both read
    the same phones and the same phone-at-flat facts. -#}

{#- Every phone of every record: the first number, and the second when it is another number. -#}
{% macro idn_record_phones(prepared) -%}
    select record_ref, phone_hmac as ph from {{ prepared }} where phone_hmac is not null
    union all
    select record_ref, phone2_hmac from {{ prepared }}
    where phone2_hmac is not null and phone2_hmac <> coalesce(phone_hmac, '')
{%- endmacro %}

{#- Where each phone is on file with a whole flat (estate key, building, unit, room), under any name: the
    evidence of a household phone. `flat` is the four parts as one key. -#}
{% macro idn_phone_flats(record_phones, prepared) -%}
    select distinct
        r.ph, p.estate_key, p.building, p.unit, p.room,
        p.estate_key || '|' || p.building || '|' || p.unit || '|' || p.room as flat
    from {{ record_phones }} as r
    inner join {{ prepared }} as p on p.record_ref = r.record_ref
    where p.estate_key is not null and p.building is not null and p.unit is not null and p.room is not null
{%- endmacro %}
