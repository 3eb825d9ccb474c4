{{ config(**staging_incremental('reference', 'event_categories', 'category_code')) }}

with latest as (
    {{ latest_version(source('reference', 'event_categories'), ['category_code']) }}
)

select
    {{ clean_text('category_code') }}                   as category_code,
    {{ clean_text('category_code') }}                   as source_key,
    {{ clean_text('major_name') }}                      as major_name,
    {{ clean_text('minor_name') }}                      as minor_name,
    substr({{ clean_text('category_code') }}, 1, 2)    as major_code,
    {{ to_int('default_limit_hours') }}                 as default_limit_hours,
    _batch_id,
    _loaded_at
from latest
