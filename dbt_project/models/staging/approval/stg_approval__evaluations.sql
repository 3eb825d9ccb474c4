-- Good/bad reviews (好差评), rating 1-5 (5 = 非常满意).
{{ config(**staging_incremental('approval', 'evaluations', 'pjid')) }}

with latest as (
    {{ latest_version(source('approval', 'evaluations'), ['pjid'], cursor='pjsj') }}
)

select
    {{ clean_text('pjid') }}                            as evaluation_id,
    {{ clean_text('pjid') }}                            as source_key,
    {{ clean_text('bjbh') }}                            as case_id,
    {{ to_int('pjdj') }}                                as rating,
    {{ clean_text('pjnr') }}                            as comment,
    {{ parse_local_ts('pjsj') }}                        as evaluated_at,
    _batch_id,
    _loaded_at
from latest
