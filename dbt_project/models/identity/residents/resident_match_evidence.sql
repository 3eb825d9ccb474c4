{#- Why each record joined its resident: one row per merge of a record into a cluster (the cluster's
    founding record has none). matched_* is the record it was matched to; agreed_fields lists what
    agreed (id_no = same valid ID number, id_no_body17 = same ID without its wrong check char, dy_id =
    party registration of that member, name / phone / flat / id_partial / birth_date / household_phone,
    -phone_differs); match_score is 100 for deterministic rules, else the Fellegi–Sunter match weight
    (log2 odds, weights learnt per build in int_residents_match_weights) and match_probability
    1 / (1 + 2^-weight); 'strong' from probability 0.999. No values are shown, only which fields agreed. -#}
{%- set run_ts = "cast('" ~ run_started_at.strftime('%Y-%m-%d %H:%M:%S') ~ "' as timestamp)" %}

select
    x.resident_key,
    m.source_system,
    m.source_table,
    m.source_key,
    t.source_system                             as matched_source_system,
    t.source_table                              as matched_source_table,
    t.source_key                                as matched_source_key,
    m.match_rule,
    case when m.match_rule in ('id_exact', 'party_member_link', 'party_member_record') then 'deterministic'
         when m.match_probability >= 0.999 then 'strong'
         else 'moderate' end                    as match_strength,
    m.agreed_fields,
    m.match_score,
    m.match_probability,
    {{ run_ts }}                                as matched_at
from {{ ref('int_residents_records_matched') }} as m
inner join {{ ref('resident_key_registry') }} as x on x.record_ref = m.record_ref
left join {{ ref('int_residents_records_matched') }} as t on t.record_ref = m.matched_record_ref
where m.matched_record_ref is not null
