-- Life-service items (生活服务事项). fwzd arrives as JSON array text: kept as a comma list.
{{ config(**staging_incremental('services', 'life_items', 'fwbm')) }}

with latest as (
    {{ latest_version(source('services', 'life_items'), ['fwbm'], cursor='"updatedAt"') }}
)

select
    upper({{ clean_text('fwbm') }})                     as item_code,
    {{ clean_text('fwbm') }}                            as source_key,
    {{ clean_text('fwmc') }}                            as item_name,
    {{ clean_text('fwlb') }}                            as category,
    {{ clean_text('gysmc') }}                           as provider_name,
    {{ normalize_uscc('"gysUscc"') }}                   as provider_uscc,
    {{ json_array_to_csv('fwzd') }}                     as site_ids,
    {{ to_bool('sfzxyy') }}                             as bookable_online,
    {{ parse_local_ts('"updatedAt"') }}                 as updated_at,
    _batch_id,
    _loaded_at
from latest
