{{ config(materialized='table', schema='identity_int') }}
-- Addresses and estate names split into estate / building / unit / room.
--   "江城市武昌区友育华庭3栋2单元501室", "湖北省江城市武昌区友育华庭3栋2单元501室",
--   "友育华庭3栋2单元501室", "江城市武昌区友育华庭3-2-501", "武昌区友育华庭三栋二单元五〇一",
--   "武昌区友育华庭3栋附近" -> estate text 友育华庭, building 3, unit 2, room 501.
-- Leading province / city / district / street names are removed (names from the reference
-- divisions, so nothing about one city is written here). The estate text becomes an estate
-- match key (estate_match_key) shared by an estate's names and aliases.
with mentions as (
    select source_system, source_table, source_key, address_text, estate_text, building_text
    from {{ ref('int_place_mentions') }}
    where address_text is not null or estate_text is not null
),

matched as (
    select
        m.*,
        {{ rx_groups('m.address_text', address_pattern_a(), 4) }} as _ma,
        {{ rx_groups('m.address_text', address_pattern_b(), 4) }} as _mb,
        {{ rx_groups('m.building_text', dwelling_pattern(), 3) }} as _md
    from mentions as m
),

split as (
    select
        source_system, source_table, source_key, address_text,
        {{ strip_province("coalesce(estate_text, " ~ rx_group('_ma', 1) ~ ", " ~ rx_group('_mb', 1) ~ ", address_text)") }} as place_text,
        coalesce({{ rx_group('_ma', 2) }}, {{ rx_group('_mb', 2) }}, {{ rx_group('_md', 1) }},
                 case when estate_text is not null then building_text end) as building_raw,
        coalesce({{ rx_group('_ma', 3) }}, {{ rx_group('_mb', 3) }}, {{ rx_group('_md', 2) }}) as unit_raw,
        coalesce({{ rx_group('_ma', 4) }}, {{ rx_group('_mb', 4) }}, {{ rx_group('_md', 3) }}) as room_raw,
        case
            when estate_text is not null then 'estate_name'
            when {{ rx_group('_ma', 1) }} is not null or {{ rx_group('_mb', 1) }} is not null then 'address'
            else 'place_text'
        end as parse_kind
    from matched
),

admin_names as (
    select division_name as admin_name, division_level as admin_level
    from {{ ref('stg_reference__divisions') }}
    where division_level in ('市', '区', '街道') and division_name is not null
),

-- strip a leading city, then district, then street name (each optional; the longest wins)
strip_city as (
    select s.*, a.admin_name as city_name,
           row_number() over (partition by s.source_system, s.source_table, s.source_key
                              order by length(a.admin_name) desc nulls last) as rn
    from split as s
    left join admin_names as a on a.admin_level = '市' and strpos(s.place_text, a.admin_name) = 1
),

after_city as (
    select *, case when city_name is null then place_text
                   else substr(place_text, length(city_name) + 1) end as t1
    from strip_city where rn = 1
),

strip_district as (
    select s.*, a.admin_name as district_name,
           row_number() over (partition by s.source_system, s.source_table, s.source_key
                              order by length(a.admin_name) desc nulls last) as rn2
    from after_city as s
    left join admin_names as a on a.admin_level = '区' and strpos(s.t1, a.admin_name) = 1
),

after_district as (
    select *, case when district_name is null then t1
                   else substr(t1, length(district_name) + 1) end as t2
    from strip_district where rn2 = 1
),

strip_street as (
    select s.*, a.admin_name as street_name,
           row_number() over (partition by s.source_system, s.source_table, s.source_key
                              order by length(a.admin_name) desc nulls last) as rn3
    from after_district as s
    left join admin_names as a on a.admin_level = '街道' and strpos(s.t2, a.admin_name) = 1
),

final as (
    select
        source_system, source_table, source_key, address_text, parse_kind,
        district_name,
        nullif(trim(case when street_name is null then t2
                         else substr(t2, length(street_name) + 1) end), '') as estate_text,
        {{ cn_to_int('building_raw') }}                 as building,
        {{ cn_to_int('unit_raw') }}                     as unit,
        nullif({{ room_text('room_raw') }}, '')         as room
    from strip_street
    where rn3 = 1
)

select
    *,
    {{ estate_match_key('estate_text') }}               as estate_match_key
from final
