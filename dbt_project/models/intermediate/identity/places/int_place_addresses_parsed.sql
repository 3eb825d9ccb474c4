-- Addresses and estate names split into estate / building / unit / room, and the estate each names.
--   "江城市武昌区友育华庭3栋2单元501室", "湖北省江城市武昌区友育华庭3号楼2单元501室", "友育华庭3-2-501",
--   "武昌区友育华庭三栋二单元五〇一", "武昌区前进街道前进社区友育华庭3栋附近" -> estate text 友育华庭,
--   building 3, unit 2, room 501 (address_clean, the one address normaliser).
-- Leading province / city / district / street / community names are removed (the city's names from the
-- reference divisions first, then by their administrative suffixes), so nothing about one city is written here.
-- The estate: the estate names and addresses of the city's property files (stg_property__estates) are the
-- reference. A name meets a delivered estate, first tier that gives exactly one (in the community the record
-- names, else in the city): 1 the same name (phase / 院 gone: estate_name_norm), 2 the estate's road address
-- (地址 of the file), 3 the same core (generic suffixes gone: estate_core, "友育小区" = "友育花园小区" ->
-- 友育), 4 a core that begins exactly one delivered name ("友育小区" -> 友育华庭). A name no delivered estate
-- takes is keyed by its core. estate_match_key ends in the estate kind (R residential, Y numbered compound,
-- T office building); an estate name delivered in two communities is two estates.
with mentions as (
    select
        source_system, source_table, source_key, address_text, estate_text, building_text,
        {{ address_clean('address_text') }}             as address_canon,
        {{ address_clean('building_text') }}            as dwelling_canon
    from {{ ref('int_place_mentions') }}
    where address_text is not null or estate_text is not null
),

matched as (
    select
        m.*,
        {{ rx_groups('m.address_canon', address_flat_pattern(), 4) }} as _ma,
        {{ rx_groups('m.dwelling_canon', address_flat_pattern(), 4) }} as _md
    from mentions as m
),

split as (
    select
        source_system, source_table, source_key, address_text,
        {{ strip_admin_prefix(
            "coalesce(" ~ place_clean('estate_text') ~ ", case when _ma is null then address_canon else "
            ~ rx_group('_ma', 1) ~ " end)", levels=['province']) }} as place_text,
        coalesce(cast({{ rx_group('_ma', 2) }} as integer), cast({{ rx_group('_md', 2) }} as integer),
                 case when estate_text is not null then {{ cn_to_int('building_text') }} end) as building,
        cast(coalesce({{ rx_group('_ma', 3) }}, {{ rx_group('_md', 3) }}) as integer) as unit,
        coalesce({{ rx_group('_ma', 4) }}, {{ rx_group('_md', 4) }}) as room,
        case
            when estate_text is not null then 'estate_name'
            when {{ rx_group('_ma', 1) }} is not null then 'address'
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
    select
        s.*,
        a.admin_name as city_name,
        row_number() over (partition by s.source_system, s.source_table, s.source_key
                           order by length(a.admin_name) desc nulls last) as rn
    from split as s
    left join admin_names as a on a.admin_level = '市' and strpos(s.place_text, a.admin_name) = 1
),

after_city as (
    select
        *,
        case when city_name is null then place_text else substr(place_text, length(city_name) + 1) end as t1
    from strip_city where rn = 1
),

strip_district as (
    select
        s.*,
        a.admin_name as district_name,
        row_number() over (partition by s.source_system, s.source_table, s.source_key
                           order by length(a.admin_name) desc nulls last) as rn2
    from after_city as s
    left join admin_names as a on a.admin_level = '区' and strpos(s.t1, a.admin_name) = 1
),

after_district as (
    select
        *,
        case when district_name is null then t1 else substr(t1, length(district_name) + 1) end as t2
    from strip_district where rn2 = 1
),

strip_street as (
    select
        s.*,
        a.admin_name as street_name,
        row_number() over (partition by s.source_system, s.source_table, s.source_key
                           order by length(a.admin_name) desc nulls last) as rn3
    from after_district as s
    left join admin_names as a on a.admin_level = '街道' and strpos(s.t2, a.admin_name) = 1
),

parsed as (
    select
        source_system, source_table, source_key, address_text, parse_kind, district_name,
        nullif({{ strip_admin_prefix(
            "case when street_name is null then t2 else substr(t2, length(street_name) + 1) end",
            levels=['community']) }}, '') as estate_text,
        building,
        unit,
        room
    from strip_street
    where rn3 = 1
),

named as (
    select
        p.*,
        {{ estate_name_norm('p.estate_text') }}        as estate_norm,
        coalesce(h.community_code, '')                  as community_code
    from parsed as p
    left join {{ ref('int_place_hard_evidence') }} as h
        on h.source_system = p.source_system and h.source_table = p.source_table and h.source_key = p.source_key
),

names as (
    select
        n.*,
        {{ estate_kind('n.estate_norm') }}             as estate_kind,
        {{ estate_core('n.estate_norm') }}             as estate_core
    from named as n
),

-- the reference: estates as the property files deliver them (name, road address, community)
communities as (
    select community_core, min(community_code) as community_code
    from {{ ref('int_communities') }}
    group by community_core
    having count(*) = 1
),

ref_estates as (
    select distinct
        {{ estate_name_norm('e.estate_name') }}        as norm,
        {{ estate_name_norm('e.address') }}            as road_norm,
        coalesce(c.community_code, '')                  as community_code
    from {{ ref('stg_property__estates') }} as e
    left join communities as c on c.community_core = {{ community_core('e.community_text') }}
    where e.estate_name is not null
),

ref_named as (
    select
        norm, road_norm, community_code,
        {{ estate_kind('norm') }}                       as kind,
        {{ estate_core('norm') }}                       as core
    from ref_estates
),

ref_keys as (
    select
        r.*,
        r.norm
        || case when count(*) over (partition by r.norm) > 1 then '@' || r.community_code else '' end
        || '#' || r.kind                                as ref_key
    from (select distinct norm, kind, core, community_code from ref_named) as r
),

-- every name a delivered estate answers to, by tier
ref_aliases as (
    select norm as alias, 1 as tier, kind, community_code, ref_key from ref_keys
    union all
    select r.road_norm, 2, null, r.community_code, k.ref_key
    from ref_named as r
    inner join ref_keys as k on k.norm = r.norm and k.community_code = r.community_code
    where r.road_norm is not null
    union all
    select core, 3, kind, community_code, ref_key from ref_keys
    union all
    select substr(k.norm, 1, s.i), 4, k.kind, k.community_code, k.ref_key
    from ref_keys as k
    inner join {{ int_series(30) }} as s on s.i >= 2 and s.i < length(k.norm)
),

name_tuples as (
    select distinct estate_norm, estate_kind, estate_core, community_code
    from names
    where estate_norm is not null
),

candidates as (
    select t.*, a.tier, a.ref_key, a.community_code as ref_community_code
    from name_tuples as t
    inner join ref_aliases as a on a.alias = t.estate_norm and a.tier in (1, 2)
        and (a.kind is null or a.kind = t.estate_kind)
    union all
    select t.*, a.tier, a.ref_key, a.community_code
    from name_tuples as t
    inner join ref_aliases as a on a.alias = t.estate_core and a.tier in (3, 4) and a.kind = t.estate_kind
),

tier_counts as (
    select
        estate_norm, estate_kind, estate_core, community_code, tier,
        count(distinct case when community_code <> '' and ref_community_code = community_code then ref_key end)
                                                        as n_community,
        min(case when community_code <> '' and ref_community_code = community_code then ref_key end)
                                                        as community_key,
        count(distinct ref_key)                         as n_city,
        min(ref_key)                                    as city_key
    from candidates
    group by estate_norm, estate_kind, estate_core, community_code, tier
),

picked as (
    select
        estate_norm, estate_kind, community_code,
        case when n_community = 1 then community_key else city_key end as ref_key,
        row_number() over (partition by estate_norm, estate_kind, community_code order by tier) as rn
    from tier_counts
    where n_community = 1 or n_city = 1
)

select
    n.source_system,
    n.source_table,
    n.source_key,
    n.address_text,
    n.parse_kind,
    n.district_name,
    n.estate_text,
    n.building,
    n.unit,
    n.room,
    n.estate_norm,
    case
        when n.estate_norm is null then null
        when p.ref_key is not null then p.ref_key
        else n.estate_core || '~#' || n.estate_kind
    end                                                 as estate_match_key
from names as n
left join picked as p
    on p.estate_norm = n.estate_norm and p.estate_kind = n.estate_kind
   and p.community_code = n.community_code and p.rn = 1
