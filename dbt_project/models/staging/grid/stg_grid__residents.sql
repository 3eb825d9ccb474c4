-- Soft-deleted residents (sfsc = 1: moved away, deceased) are kept with is_deleted = true.
{{ config(**staging_incremental('grid', 'wg_syrk', 'rkid')) }}

with latest as (
    {{ latest_version(source('grid', 'wg_syrk'), ['rkid'], cursor='update_time') }}
)

select
    {{ clean_text('rkid') }}                            as resident_id,
    {{ clean_text('rkid') }}                            as source_key,
    {{ clean_person_name('xm') }}                       as name,
    {{ id_no_columns('sfzh', 'id_no') }},
    {{ phone_columns('sjhm', 'phone') }},
    {{ normalize_gender('xb') }}                        as gender,
    {{ parse_date('csrq') }}                            as birth_date,
    {{ clean_text('jzdz') }}                            as residence_address,
    {{ clean_text('wgbm') }}                            as grid_code,
    {{ clean_text('jzlx') }}                            as residence_type,
    {{ regex_replace_all(clean_text('tsbq'), '[，、;；]', ',') }} as special_tags,
    {{ parse_local_ts('djsj') }}                        as registered_at,
    coalesce({{ to_bool('sfsc') }}, false)              as is_deleted,
    {{ parse_local_ts('update_time') }}                 as updated_at,
    _batch_id,
    _loaded_at
from latest
