{{ config(**staging_incremental('grid', 'wg_sjlz', 'lzid')) }}

with latest as (
    {{ latest_version(source('grid', 'wg_sjlz'), ['lzid'], cursor='czsj') }}
)

select
    {{ clean_text('lzid') }}                            as event_step_id,
    {{ clean_text('lzid') }}                            as source_key,
    {{ clean_text('sjbh') }}                            as event_id,
    {{ clean_text('hj') }}                              as step,
    {{ clean_text('czdw') }}                            as acting_unit,
    {{ clean_person_name('czr') }}                      as actor_name,
    {{ parse_local_ts('czsj') }}                        as acted_at,
    {{ clean_text('bz') }}                              as remark,
    _batch_id,
    _loaded_at
from latest
