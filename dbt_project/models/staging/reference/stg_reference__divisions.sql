{{ config(**staging_incremental('reference', 'divisions', 'division_code')) }}

with latest as (
    {{ latest_version(source('reference', 'divisions'), ['division_code']) }}
)

select
    {{ clean_text('division_code') }}                   as division_code,
    {{ clean_text('division_code') }}                   as source_key,
    {{ clean_text('name') }}                            as division_name,
    {{ clean_text('level') }}                           as division_level,
    {{ clean_text('parent_code') }}                     as parent_code,
    _batch_id,
    _loaded_at
from latest
