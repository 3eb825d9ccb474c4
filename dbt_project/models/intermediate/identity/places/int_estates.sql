{{ config(materialized='table', schema='identity_int') }}
-- One row per estate (小区 / 楼院 / 楼宇), however it is spelt: property-file names of every
-- company ("友育华庭", "友育华庭一期"), address names and aliases ("友育小区"), yard and tower
-- aliases. The estate is its match key; estate_key is an opaque hash of that key (stable across
-- runs, nothing personal in it). main_grid_code is the grid holding most of its buildings seen (then most
-- households): a few households seen in the buildings of a second grid do not move the estate.
with names as (
    select estate_match_key, estate_text, source_system, source_table
    from {{ ref('int_place_addresses_parsed') }}
    where estate_match_key is not null
),

name_counts as (
    select estate_match_key, estate_text, count(*) as n,
           sum(case when source_table = 'estates' then 1 else 0 end) as n_property
    from names
    group by estate_match_key, estate_text
),

display as (
    select
        estate_match_key,
        estate_text as estate_name,
        row_number() over (partition by estate_match_key
                           order by n desc, estate_text) as rn
    from name_counts
),

grid_households as (
    select
        estate_match_key, grid_code,
        count(distinct building) as buildings, sum(households) as households, sum(records) as records
    from {{ ref('int_estate_building_grids') }}
    group by estate_match_key, grid_code
),

main_grid as (
    select
        estate_match_key, grid_code,
        row_number() over (partition by estate_match_key
                           order by buildings desc, households desc, records desc, grid_code) as rn,
        count(*) over (partition by estate_match_key) as n_grids
    from grid_households
),

property as (
    select
        p.estate_match_key,
        max(e.address)                                  as road_address,
        max({{ community_core('e.community_text') }})   as community_core,
        count(distinct e.company)                       as n_companies,
        sum(e.households)                               as households_reported
    from {{ ref('int_place_addresses_parsed') }} as p
    inner join {{ ref('stg_property__estates') }} as e
        on p.source_system = 'property' and p.source_table = 'estates' and e.source_key = p.source_key
    group by p.estate_match_key
),

keys as (
    select distinct estate_match_key from names
),

alias_list as (
    select estate_match_key, {{ dbt.listagg('estate_text', "'、'", 'order by estate_text') }} as names
    from (select distinct estate_match_key, estate_text from names) as d
    group by estate_match_key
)

select
    {{ opaque_key('E', 'k.estate_match_key') }}         as estate_key,
    k.estate_match_key,
    d.estate_name,
    a.names                                             as estate_names,
    case right(k.estate_match_key, 1) when 'R' then '小区' when 'Y' then '楼院' when 'T' then '楼宇' end as estate_kind,
    p.road_address,
    g.grid_code                                         as main_grid_code,
    coalesce(gr.community_code, c.community_code)       as community_code,
    coalesce(g.n_grids, 0)                              as n_grids,
    coalesce(p.n_companies, 0)                          as n_property_companies,
    p.households_reported
from keys as k
left join display as d on d.estate_match_key = k.estate_match_key and d.rn = 1
left join alias_list as a on a.estate_match_key = k.estate_match_key
left join main_grid as g on g.estate_match_key = k.estate_match_key and g.rn = 1
left join {{ ref('int_grids') }} as gr on gr.grid_code = g.grid_code
left join property as p on p.estate_match_key = k.estate_match_key
left join (
    select community_core, min(community_code) as community_code
    from {{ ref('int_communities') }} group by community_core having count(*) = 1
) as c on c.community_core = p.community_core
