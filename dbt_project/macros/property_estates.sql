{#- The estate file's fields as staging reads them, shared by stg_property__estates (latest version per
    estate) and stg_property__estate_deliveries (every delivery of every estate). -#}
{% macro property_estate_fields() -%}
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
    {{ to_int('jcnf') }}                                as year_built
{%- endmacro %}

{#- The month a property file was delivered for: its path's second folder {YYYY-MM} (contract layout
    {company}/{YYYY-MM}/{kind}.{ext}), as the month's first day; the month it landed when the folder is not a
    month. -#}
{% macro property_delivery_month(source_file='_source_file', loaded_at='_loaded_at') -%}
    case
        when {{ regex_like("split_part(" ~ source_file ~ ", '/', 2)", '^[0-9]{4}-(0[1-9]|1[0-2])$') }}
            then cast(split_part({{ source_file }}, '/', 2) || '-01' as date)
        else {{ month_start(loaded_at) }}
    end
{%- endmacro %}
