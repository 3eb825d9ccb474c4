-- Estates (小区) as reported by each property company; key = xqmc|company, where company is
-- the first folder of _source_file. Files have no cursor: the latest load wins.
with latest as (
    {{ latest_version(source('property', 'estates'), none, file=true,
        key_exprs=[clean_text('xqmc'), "nullif(split_part(_source_file, '/', 1), '')"]) }}
)

select
    {{ clean_text('xqmc') }} || '|' || split_part(_source_file, '/', 1) as source_key,
    {{ clean_text('xqmc') }}                            as estate_name,
    split_part(_source_file, '/', 1)                    as company,
    {{ clean_text('dz') }}                              as address,
    {{ clean_text('sq') }}                              as community_text,
    {{ clean_text('wyqy') }}                            as property_company_name,
    {{ normalize_uscc('wyqy_uscc') }}                   as property_company_uscc,
    {{ legacy_org_code('wyqy_uscc') }}                  as property_company_org_code,
    {{ to_int('hs') }}                                  as households,
    {{ to_int('ld') }}                                  as buildings,
    {{ to_bool('ywh') }}                                as has_owners_committee,
    {{ to_bool('dzz') }}                                as has_party_org,
    {{ to_int('jcnf') }}                                as year_built,
    _source_file,
    _batch_id,
    _loaded_at
from latest
