{#- Every person-bearing record of the six systems in one shape. This view still carries raw ID numbers
    and phones, so it lives in schema `staging` (DESIGN "Privacy": raw IDs and phones stay in raw_* and
    staging); int_residents_records_prepared pseudonymises them on the way into the identity layer. -#}
{{ config(materialized='view', schema='staging') }}

with party_members as (
    select 'party' as source_system, 'dj_dy' as source_table, source_key,
           name, gender, id_no, id_no_valid, id_no_kind, id_no_masked, phone, phone_2,
           birth_date, home_address as address_text, cast(null as varchar) as grid_code,
           member_id, false as is_deleted, updated_at
    from {{ ref('stg_party__members') }}
),

party_registrations as (
    select 'party', 'dj_bd', source_key,
           name, cast(null as varchar), id_no, id_no_valid, id_no_kind, id_no_masked,
           cast(null as varchar), cast(null as varchar),
           cast(null as date), residence_address, grid_code,
           member_id, false, updated_at
    from {{ ref('stg_party__registrations') }}
),

grid_residents as (
    select 'grid', 'wg_syrk', source_key,
           name, gender, id_no, id_no_valid, id_no_kind, id_no_masked, phone, phone_2,
           birth_date, residence_address, grid_code,
           cast(null as varchar), is_deleted, updated_at
    from {{ ref('stg_grid__residents') }}
),

grid_workers as (
    select 'grid', 'wg_wgy', source_key,
           name, cast(null as varchar), id_no, id_no_valid, id_no_kind, id_no_masked, phone, phone_2,
           cast(null as date), cast(null as varchar), grid_code,
           cast(null as varchar), false, updated_at
    from {{ ref('stg_grid__workers') }}
),

approval_cases as (
    select 'approval', 'cases', source_key,
           applicant_name, cast(null as varchar), applicant_id_no, applicant_id_no_valid, applicant_id_no_kind,
           applicant_id_no_masked, applicant_phone, applicant_phone_2,
           cast(null as date), applicant_address, cast(null as varchar),
           cast(null as varchar), false, updated_at
    from {{ ref('stg_approval__cases') }}
    where applicant_type = '自然人'
),

property_owners as (
    select 'property', 'owners', source_key,
           owner_name, cast(null as varchar), id_no, id_no_valid, id_no_kind, id_no_masked, phone, phone_2,
           cast(null as date),
           estate_name || coalesce(building, '') || '栋' || coalesce(unit, '') || '单元' || coalesce(room, ''),
           cast(null as varchar),
           cast(null as varchar), false, cast(_loaded_at as timestamp)
    from {{ ref('stg_property__owners') }}
),

property_complaints as (
    select 'property', 'complaints', source_key,
           complainant_name, cast(null as varchar), cast(null as varchar), false, 'null', cast(null as varchar),
           phone, phone_2,
           cast(null as date), coalesce(estate_name, '') || coalesce(dwelling_address, ''), cast(null as varchar),
           cast(null as varchar), false, accepted_at
    from {{ ref('stg_property__complaints') }}
    where complainant_name is not null or phone is not null
),

services_orders as (
    select 'services', 'orders', source_key,
           customer_name, cast(null as varchar), cast(null as varchar), false, 'null', cast(null as varchar),
           phone, phone_2,
           cast(null as date), address, cast(null as varchar),
           cast(null as varchar), false, updated_at
    from {{ ref('stg_services__orders') }}
),

party_service_records as (
    -- a member's service record (服务记录) names no one: it is that member's, through dy_id
    select 'party', 'dj_fwjl', source_key,
           cast(null as varchar), cast(null as varchar), cast(null as varchar), false, 'null', cast(null as varchar),
           cast(null as varchar), cast(null as varchar),
           cast(null as date), cast(null as varchar), grid_code,
           member_id, false, updated_at
    from {{ ref('stg_party__service_records') }}
),

party_secretaries as (
    -- the secretary (书记) named on a Party organisation, with the contact phone
    select 'party', 'dj_org', source_key,
           secretary_name, cast(null as varchar), cast(null as varchar), false, 'null', cast(null as varchar),
           contact_phone, contact_phone_2,
           cast(null as date), cast(null as varchar), grid_code,
           cast(null as varchar), false, updated_at
    from {{ ref('stg_party__orgs') }}
    where secretary_name is not null
),

grid_event_reporters as (
    -- the resident who reported a grid event (居民上报); fsdz is where it happened, not their home
    select 'grid', 'wg_sj', source_key,
           reporter_name, cast(null as varchar), cast(null as varchar), false, 'null', cast(null as varchar),
           reporter_phone, reporter_phone_2,
           cast(null as date), cast(null as varchar), cast(null as varchar),
           cast(null as varchar), false, updated_at
    from {{ ref('stg_grid__events') }}
    where reporter_name is not null or reporter_phone is not null
),

hotline_callers as (
    -- dz is the place the call is about, not the caller's home: not used as an address.
    select 'hotline', 'tickets', source_key,
           caller_name, cast(null as varchar), cast(null as varchar), false, 'null', cast(null as varchar),
           caller_phone, caller_phone_2,
           cast(null as date), cast(null as varchar), cast(null as varchar),
           cast(null as varchar), false, updated_at
    from {{ ref('stg_hotline__tickets') }}
    where caller_name is not null or caller_phone is not null
)

{% for cte in ['party_members', 'party_registrations', 'party_service_records', 'party_secretaries',
               'grid_residents', 'grid_workers', 'grid_event_reporters', 'approval_cases',
               'property_owners', 'property_complaints', 'services_orders', 'hotline_callers'] %}
select * from {{ cte }}
{% if not loop.last %}union all{% endif %}
{% endfor %}
