-- Every record that concerns a place, with all the place evidence it carries, one row each:
--   given_grid_code  a grid code the source states (wgbm, or a 15-digit code in a grid text)
--   grid_text        "前进社区第3网格" / "第3网格" / "三网格" / "前进社区3网格"
--   community_text   a community name in any variant; division_code a division code (dj_org.qhdm)
--   street_text      a street name (hotline jdmc)
--   address_text     a full address or place description ("江城市武昌区友育华庭3栋2单元501室")
--   estate_text      an estate name given on its own (property files), building_text its building
-- Coordinates are in int_place_points. Records with no place evidence at all are left out.
with mentions as (
    -- an estate party branch / building group names its estate ("中共友育华庭小区支部委员会",
    -- "友育华庭1栋党小组"): kept as an address-like text
    select 'party' as source_system, 'dj_org' as source_table, source_key,
           grid_code as given_grid_code, grid_text,
           cast(null as varchar) as community_text, division_code,
           cast(null as varchar) as street_text,
           case org_type
               when '小区党支部' then nullif(regexp_replace(regexp_replace(org_name, '^中共', ''), '小区(党)?支部(委员会)?$', ''), '')
               when '楼栋党小组' then nullif(regexp_replace(org_name, '党小组$', ''), '')
           end as address_text,
           cast(null as varchar) as estate_text, cast(null as varchar) as building_text
    from {{ ref('stg_party__orgs') }}
    where coalesce(grid_text, division_code) is not null

    union all
    select 'party', 'dj_dy', source_key, null, null, null, null, null, home_address, null, null
    from {{ ref('stg_party__members') }}
    where home_address is not null

    union all
    select 'party', 'dj_bd', source_key, grid_code, grid_text, residence_community_text, null, null,
           residence_address, null, null
    from {{ ref('stg_party__registrations') }}
    where coalesce(grid_text, residence_community_text, residence_address) is not null

    union all
    select 'party', 'dj_fwjl', source_key, grid_code, grid_text, null, null, null, null, null, null
    from {{ ref('stg_party__service_records') }}
    where grid_text is not null

    union all
    select 'grid', 'wg_grid', source_key, grid_code, null, community_name, community_code, street_name,
           null, null, null
    from {{ ref('stg_grid__grids') }}

    union all
    select 'grid', 'wg_wgy', source_key, grid_code, null, null, null, null, null, null, null
    from {{ ref('stg_grid__workers') }}
    where grid_code is not null

    union all
    select 'grid', 'wg_syrk', source_key, grid_code, null, null, null, null, residence_address, null, null
    from {{ ref('stg_grid__residents') }}
    where coalesce(grid_code, residence_address) is not null

    union all
    select 'grid', 'wg_sj', e.source_key, e.grid_code, null, null, null, null, e.location_address, null, null
    from {{ ref('stg_grid__events') }} as e
    where coalesce(e.grid_code, e.location_address) is not null
       or (e.longitude is not null and e.latitude is not null)

    union all
    select 'approval', 'cases', source_key, null, null, null, null, null, applicant_address, null, null
    from {{ ref('stg_approval__cases') }}
    where applicant_address is not null

    union all
    select 'property', 'estates', source_key, null, null, community_text, null, null, null, estate_name, null
    from {{ ref('stg_property__estates') }}

    union all
    select 'property', 'owners', source_key, null, null, null, null, null, null, estate_name, building
    from {{ ref('stg_property__owners') }}

    union all
    select 'property', 'complaints', source_key, null, null, null, null, null, null, estate_name, dwelling_address
    from {{ ref('stg_property__complaints') }}
    where estate_name is not null

    union all
    select 'services', 'sites', s.source_key, null, null, s.community_text, null, null, s.address, null, null
    from {{ ref('stg_services__sites') }} as s
    where coalesce(s.community_text, s.address) is not null or (s.longitude is not null and s.latitude is not null)

    union all
    select 'services', 'orders', source_key, null, null, null, null, null, address, null, null
    from {{ ref('stg_services__orders') }}
    where address is not null

    union all
    select 'hotline', 'tickets', source_key, null, null, community_name, null, street_name, address, null, null
    from {{ ref('stg_hotline__tickets') }}
    where coalesce(address, community_name, street_name) is not null
)

select * from mentions
where source_key is not null
