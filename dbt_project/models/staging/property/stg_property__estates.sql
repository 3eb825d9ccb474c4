-- Estates (小区) as reported by each property company; key = xqmc|company, where company is
-- the first folder of _source_file. Files have no cursor: the latest load wins. Every delivery (the
-- history as of a date): stg_property__estate_deliveries.
with latest as (
    {{ latest_version(source('property', 'estates'), none, file=true,
        key_exprs=[clean_text('xqmc'), "nullif(split_part(_source_file, '/', 1), '')"]) }}
)

select
    {{ property_estate_fields() }},
    _source_file,
    _batch_id,
    _loaded_at
from latest
