{{ config(**staging_incremental('party', 'dj_dy', 'dy_id')) }}

with latest as (
    {{ latest_version(source('party', 'dj_dy'), ['dy_id'], cursor='gxsj') }}
)

select
    {{ clean_text('dy_id') }}                           as member_id,
    {{ clean_text('dy_id') }}                           as source_key,
    {{ clean_person_name('xm') }}                       as name,
    {{ normalize_gender('xb') }}                        as gender,
    {{ id_no_columns('sfzh', 'id_no') }},
    {{ parse_date('csrq') }}                            as birth_date,
    {{ normalize_ethnicity('mz') }}                     as ethnicity,
    {{ clean_text('xl') }}                              as education,
    {{ clean_text('rylb') }}                            as member_category,
    {{ parse_date('rdrq') }}                            as joined_party_on,
    {{ clean_text('org_id') }}                          as org_id,
    {{ clean_text('gzdw') }}                            as work_unit,
    {{ phone_columns('sjhm', 'phone') }},
    {{ clean_text('jtzz') }}                            as home_address,
    {{ to_bool('sfldy') }}                              as is_flowing_member,
    {{ clean_text('djzt') }}                            as membership_status,
    {{ parse_local_ts('gxsj') }}                        as updated_at,
    _batch_id,
    _loaded_at
from latest
