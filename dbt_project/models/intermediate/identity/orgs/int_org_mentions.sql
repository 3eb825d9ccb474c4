-- Every record that names an organisation (department, company, provider), with what it gives:
-- a USCC (normalised, check char validated), a legacy 9-char organisation code, a name.
with mentions as (
    select 'reference' as source_system, 'departments' as source_table, source_key,
           department_uscc as uscc_raw, cast(null as varchar) as legacy_code,
           department_name as org_name, short_name as org_short_name, 'department' as org_role
    from {{ ref('stg_reference__departments') }}

    union all
    select 'approval', 'items', source_key, department_uscc, null, department_name, null, 'department'
    from {{ ref('stg_approval__items') }}
    where coalesce(department_uscc, department_name) is not null

    union all
    select 'approval', 'cases', source_key, applicant_uscc, null, applicant_name, null, 'applicant'
    from {{ ref('stg_approval__cases') }}
    where applicant_type = '法人' and coalesce(applicant_uscc, applicant_name) is not null

    union all
    select 'grid', 'wg_sj', source_key, handling_dept_uscc, null, null, null, 'department'
    from {{ ref('stg_grid__events') }}
    where handling_dept_uscc is not null

    union all
    select 'hotline', 'tickets', source_key, null, null, assigned_department_name, null, 'department'
    from {{ ref('stg_hotline__tickets') }}
    where assigned_department_name is not null

    union all
    select 'party', 'dj_org', source_key, host_uscc, host_org_code, null, null, 'host'
    from {{ ref('stg_party__orgs') }}
    where coalesce(host_uscc, host_org_code) is not null

    union all
    select 'property', 'estates', source_key, property_company_uscc, property_company_org_code,
           property_company_name, null, 'property_company'
    from {{ ref('stg_property__estates') }}
    where coalesce(property_company_uscc, property_company_org_code, property_company_name) is not null

    union all
    select 'services', 'life_items', source_key, provider_uscc, null, provider_name, null, 'provider'
    from {{ ref('stg_services__life_items') }}
    where coalesce(provider_uscc, provider_name) is not null
)

select
    source_system,
    source_table,
    source_key,
    org_role,
    upper(uscc_raw)                                     as uscc,
    case when uscc_raw is not null then {{ uscc_is_valid('upper(uscc_raw)') }} end as uscc_valid,
    coalesce(legacy_code,
             case when uscc_raw is not null then {{ uscc_to_legacy_code('upper(uscc_raw)') }} end) as legacy_code,
    org_name,
    {{ org_name_key('org_name') }}                      as org_name_key,
    {{ org_name_key('org_short_name') }}                as org_short_name_key
from mentions
where source_key is not null
