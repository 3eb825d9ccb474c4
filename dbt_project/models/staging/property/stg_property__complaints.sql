-- Complaints to property companies (物业投诉). Key tsbh.
{{ config(**staging_incremental('property', 'complaints', 'tsbh')) }}

with latest as (
    {{ latest_version(source('property', 'complaints'), ['tsbh'], file=true) }}
)

select
    {{ clean_text('tsbh') }}                            as complaint_id,
    {{ clean_text('tsbh') }}                            as source_key,
    {{ clean_text('xqmc') }}                            as estate_name,
    split_part(_source_file, '/', 1)                    as company,
    {{ clean_text('fwdz') }}                            as dwelling_address,
    {{ clean_person_name('tsr') }}                      as complainant_name,
    {{ phone_columns('dh', 'phone') }},
    {{ clean_text('lb') }}                              as category,
    {{ clean_text('qd') }}                              as channel,
    {{ parse_local_ts('slsj') }}                        as accepted_at,
    {{ parse_local_ts('bjsj') }}                        as completed_at,
    {{ clean_text('jg') }}                              as outcome,
    {{ normalize_satisfaction('myd') }}                 as satisfaction,
    _source_file,
    _batch_id,
    _loaded_at
from latest
