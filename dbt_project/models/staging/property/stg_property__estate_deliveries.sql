-- Every delivery of every estate (小区): one row per estate (xqmc|company) and estates file month
-- ({company}/{YYYY-MM}/estates.*; the landing month when the folder is not a month). Raw keeps every
-- delivery; stg_property__estates keeps only the latest, this keeps the history, so the estate's
-- attributes (households, 党组织 / 业委会) can be taken as they were delivered for a period
-- (int_property_estate_versions). Within one delivery month the latest load wins, as in stg_property__estates.
with deliveries as (
    {{ latest_version(source('property', 'estates'), none, file=true,
        key_exprs=[clean_text('xqmc'), "nullif(split_part(_source_file, '/', 1), '')",
                   "cast(" ~ property_delivery_month() ~ " as varchar)"]) }}
)

select
    {{ property_estate_fields() }},
    {{ property_delivery_month() }}                     as delivery_month,
    _source_file,
    _batch_id,
    _loaded_at
from deliveries
