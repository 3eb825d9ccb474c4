-- Cases (办件). sqrzjhm is a citizen ID for 自然人 and a credit code for 法人: split by sqrlx.
{{ config(**staging_incremental('approval', 'cases', 'bjbh')) }}

with latest as (
    {{ latest_version(source('approval', 'cases'), ['bjbh'], cursor='"updatedAt"') }}
),

typed as (
    select
        *,
        case when {{ clean_text('sqrlx') }} = '法人' then null else sqrzjhm end as _person_id_raw
    from latest
)

select
    {{ clean_text('bjbh') }}                            as case_id,
    {{ clean_text('bjbh') }}                            as source_key,
    upper({{ clean_text('sxbm') }})                     as item_code,
    {{ clean_text('sqrlx') }}                           as applicant_type,
    case when {{ clean_text('sqrlx') }} = '法人' then {{ clean_text('sqrmc') }}
         else {{ clean_person_name('sqrmc') }} end      as applicant_name,
    {{ id_no_columns('_person_id_raw', 'applicant_id_no') }},
    case when {{ clean_text('sqrlx') }} = '法人' then {{ normalize_uscc('sqrzjhm') }} end as applicant_uscc,
    {{ phone_columns('sqrdh', 'applicant_phone') }},
    {{ clean_text('sqrdz') }}                           as applicant_address,
    {{ clean_text('qd') }}                              as channel,
    {{ parse_local_ts('slsj') }}                        as accepted_at,
    {{ parse_local_ts('cnbjsj') }}                      as promised_at,
    {{ parse_local_ts('bjsj') }}                        as completed_at,
    {{ clean_text('bjjg') }}                            as result,
    {{ parse_local_ts('"updatedAt"') }}                 as updated_at,
    _batch_id,
    _loaded_at
from typed
