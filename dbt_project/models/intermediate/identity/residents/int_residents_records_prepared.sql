{#- Matching-ready person records: one row per person-bearing source record, normalised for comparison
    and pseudonymised. A title-only name (李先生) gets no name key, only the surname it gives and the sex its
    title states.
    From here on no raw ID number or phone exists: ID numbers, their 17-char body,
    their first-6+last-4 partial and phones (E.164) are HMAC-SHA256 pseudonyms (idn_hmac). -#}
with records as (
    select * from {{ ref('int_residents_records_unioned') }}
),

districts as (
    select distinct division_name as district_name
    from {{ ref('stg_reference__divisions') }}
    where division_level in ('区', '县', '县级市', '旗', 'district')
),

cleaned as (
    select
        r.*,
        {{ idn_address_clean('r.address_text') }} as addr
    from records as r
),

with_district as (
    select
        c.*,
        d.district_name,
        case
            when d.district_name is not null
                then substr(c.addr, strpos(c.addr, d.district_name) + length(d.district_name))
            else {{ idn_strip_admin_prefix('c.addr') }}
        end as addr_rest
    from cleaned as c
    left join districts as d
        on d.district_name = {{ regex_extract('c.addr', '^(?:[^省]{2,7}省)?(?:[^市]{2,7}市)?([^省市区县]{1,6}(?:区|县))', 1) }}
),

recentured as (
    select
        w.*,
        {{ idn_legacy_century('w.id_no', 'w.id_no_kind', 'w.birth_date', 'w.updated_at') }} as id_fixed
    from with_district as w
),

flat_matched as (
    -- the flat's four groups from one regex run (NULL when addr_rest names no whole flat)
    select
        w.*,
        {{ rx_groups('w.addr_rest', idn_flat_pattern(), 4) }} as _flat
    from recentured as w
),

parsed as (
    select
        w.*,
        coalesce({{ rx_group('w._flat', 1) }}, case when w._flat is null then w.addr_rest end) as estate_text,
        {{ rx_group('w._flat', 2) }} as building,
        {{ rx_group('w._flat', 3) }} as unit,
        {{ rx_group('w._flat', 4) }} as room,
        case when w.id_no_valid then w.id_fixed end as _valid_id
    from flat_matched as w
)

select
    source_system || ':' || source_table || ':' || source_key      as record_ref,
    source_system,
    source_table,
    source_key,
    case when not {{ idn_title_only('name') }} then {{ idn_name_key('name') }} end as name_key,
    {{ idn_mask_name('name') }}                                     as name_masked,
    {{ idn_title_surname('name') }}                                 as title_surname,
    coalesce(gender, {{ idn_title_gender('name') }},
        case when _valid_id is not null
             then case when cast(substr(_valid_id, 17, 1) as integer) % 2 = 1 then 'M' else 'F' end end)
                                                                    as gender,
    coalesce(birth_date, case when _valid_id is not null then {{ idn_birth_from_id('_valid_id') }} end)
                                                                    as birth_date,
    case when _valid_id is not null then {{ idn_hmac('_valid_id') }} end as id_hmac,
    case when id_fixed is not null then {{ idn_hmac("substr(id_fixed, 1, 17)") }} end as id_body_hmac,
    case when id_fixed is not null then coalesce(id_no_valid, false) end as id_check_ok,
    {{ idn_hmac(idn_id_partial('id_fixed', 'id_no_masked', 'coalesce(id_no_valid, false)')) }}         as id_partial_hmac,
    case when {{ idn_id_partial('id_fixed', 'id_no_masked', 'coalesce(id_no_valid, false)') }} is not null
         then substr({{ idn_id_partial('id_fixed', 'id_no_masked', 'coalesce(id_no_valid, false)') }}, 1, 6) || '********'
              || substr({{ idn_id_partial('id_fixed', 'id_no_masked', 'coalesce(id_no_valid, false)') }}, 7, 4) end as id_masked,
    id_no_kind                                                      as id_kind,
    {{ idn_hmac(idn_phone_e164('phone')) }}                         as phone_hmac,
    {{ idn_hmac(idn_phone_e164('phone_2')) }}                       as phone2_hmac,
    {{ idn_mask_phone('phone') }}                                   as phone_masked,
    district_name                                                   as district,
    {{ regex_extract('addr_rest', '([^市区县]{2,8}街道)', 1) }}      as street,
    {{ regex_extract('addr_rest', '([^市区县道]{2,8}社区)', 1) }}     as community,
    estate_text,
    {{ idn_estate_key('estate_text') }}                             as estate_key,
    building,
    unit,
    room,
    grid_code,
    member_id,
    coalesce(is_deleted, false)                                     as is_deleted,
    updated_at
from parsed
