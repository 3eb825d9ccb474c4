{{ config(**staging_incremental('party', 'dj_shyk', 'hy_id')) }}

with latest as (
    {{ latest_version(source('party', 'dj_shyk'), ['hy_id'], cursor='gxsj') }}
)

select
    {{ clean_text('hy_id') }}                           as meeting_id,
    {{ clean_text('hy_id') }}                           as source_key,
    {{ clean_text('org_id') }}                          as org_id,
    {{ clean_text('hylx') }}                            as meeting_type,
    {{ parse_local_ts('jxsj') }}                        as held_at,
    {{ to_int('ydrs') }}                                as expected_attendees,
    {{ to_int('sdrs') }}                                as actual_attendees,
    {{ parse_local_ts('gxsj') }}                        as updated_at,
    _batch_id,
    _loaded_at
from latest
