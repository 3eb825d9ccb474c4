{{ config(**staging_incremental('grid', 'wg_wgy', 'wgy_id')) }}

with latest as (
    {{ latest_version(source('grid', 'wg_wgy'), ['wgy_id'], cursor='update_time') }}
)

select
    {{ clean_text('wgy_id') }}                          as grid_worker_id,
    {{ clean_text('wgy_id') }}                          as source_key,
    {{ clean_person_name('xm') }}                       as name,
    {{ id_no_columns('sfzh', 'id_no') }},
    {{ phone_columns('sjhm', 'phone') }},
    {{ clean_text('wgbm') }}                            as grid_code,
    {{ clean_text('rylx') }}                            as worker_type,
    {{ to_bool('sgzs') }}                               as has_social_work_certificate,
    {{ parse_date('rzrq') }}                            as started_on,
    {{ clean_text('zt') }}                              as status,
    {{ parse_local_ts('update_time') }}                 as updated_at,
    _batch_id,
    _loaded_at
from latest
