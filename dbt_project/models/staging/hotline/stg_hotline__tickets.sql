-- 12345 work orders (工单). Daily JSONL files may be re-exported: latest gxsj wins.
{{ config(**staging_incremental('hotline', 'tickets', 'gdbh')) }}

with latest as (
    {{ latest_version(source('hotline', 'tickets'), ['gdbh'], cursor='gxsj', file=true) }}
)

select
    {{ clean_text('gdbh') }}                            as ticket_id,
    {{ clean_text('gdbh') }}                            as source_key,
    {{ parse_local_ts('ldsj') }}                        as received_at,
    {{ clean_text('qd') }}                              as channel,
    {{ clean_person_name('ldr') }}                      as caller_name,
    {{ phone_columns('lddh', 'caller_phone') }},
    {{ clean_text('sqlx') }}                            as request_type,
    {{ clean_text('sqlb') }}                            as request_category,
    {{ clean_text('nr') }}                              as content,
    {{ clean_text('dz') }}                              as address,
    {{ clean_text('jdmc') }}                            as street_name,
    {{ clean_text('sqmc') }}                            as community_name,
    {{ clean_text('cbdw') }}                            as assigned_department_name,
    {{ parse_local_ts('pdsj') }}                        as dispatched_at,
    {{ parse_local_ts('blsx') }}                        as deadline_at,
    {{ parse_local_ts('bjsj') }}                        as completed_at,
    {{ normalize_satisfaction('hfjg') }}                as follow_up_result,
    {{ clean_text('cfgd') }}                            as repeats_ticket_id,
    {{ parse_local_ts('gxsj') }}                        as updated_at,
    _source_file,
    _batch_id,
    _loaded_at
from latest
