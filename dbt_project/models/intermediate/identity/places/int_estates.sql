-- One row per estate (小区 / 楼院 / 楼宇), however it is spelt: property-file names of every
-- company ("友育华庭", "友育华庭一期"), address names and aliases ("友育小区"), yard and tower
-- aliases. The estate is its match key; estate_key is an opaque hash of that key (stable across
-- runs, nothing personal in it). main_grid_code, most direct evidence first (main_grid_basis):
--   estate_org        the grid the estate's own party branch (小区党支部, a record about the whole estate, no
--                     building) states it covers: the estate as a whole, where buildings are only a sample;
--   buildings         the grid holding most of its buildings seen (then most households): a few households
--                     seen in the buildings of a second grid do not move the estate;
--   community_exclusion  an estate no record places, known only with its community (a property file's 所属社区):
--                     the community's grids of the type that holds most placed estates of its kind in this
--                     city (learnt, e.g. 小区 -> 成熟小区), minus the grids already holding a placed estate.
--                     Only when exactly one such grid is left AND the estate is the only unplaced one of its
--                     kind in that community: one empty grid of that type, one estate to fill it. Anything
--                     else (two candidates, or every such grid already holding an estate) stays unplaced:
--                     the estate is then known only to its community.
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
                           order by n desc, estate_text asc) as rn
    from name_counts
),

grid_households as (
    select
        estate_match_key, grid_code,
        count(distinct building) as buildings, sum(households) as households, sum(records) as records
    from {{ ref('int_estate_building_grids') }}
    group by estate_match_key, grid_code
),

-- records about the whole estate: its party branch (no building), with a grid by direct evidence
estate_org_grids as (
    select a.estate_match_key, coalesce(h.code_grid_code, h.text_grid_code, h.point_grid_code) as grid_code,
           count(*) as org_records
    from {{ ref('int_place_addresses_parsed') }} as a
    inner join {{ ref('int_place_hard_evidence') }} as h
        on h.source_system = a.source_system and h.source_table = a.source_table and h.source_key = a.source_key
    where a.source_system = 'party' and a.source_table = 'dj_org'
      and a.estate_match_key is not null and a.building is null
      and coalesce(h.code_grid_code, h.text_grid_code, h.point_grid_code) is not null
    group by a.estate_match_key, coalesce(h.code_grid_code, h.text_grid_code, h.point_grid_code)
),

grid_evidence as (
    select
        coalesce(b.estate_match_key, o.estate_match_key)  as estate_match_key,
        coalesce(b.grid_code, o.grid_code)                as grid_code,
        coalesce(o.org_records, 0)                        as org_records,
        coalesce(b.buildings, 0)                          as buildings,
        coalesce(b.households, 0)                         as households,
        coalesce(b.records, 0)                            as records
    from grid_households as b
    full outer join estate_org_grids as o
        on o.estate_match_key = b.estate_match_key and o.grid_code = b.grid_code
),

main_grid as (
    select
        estate_match_key, grid_code,
        case when max(org_records) over (partition by estate_match_key) > 0 then 'estate_org'
             else 'buildings' end                       as basis,
        row_number() over (partition by estate_match_key
                           order by org_records desc, buildings desc, households desc, records desc,
                                    grid_code asc) as rn,
        count(*) over (partition by estate_match_key) as n_grids
    from grid_evidence
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
),

evidenced as (
    select
        k.estate_match_key,
        case right(k.estate_match_key, 1) when 'R' then '小区' when 'Y' then '楼院' when 'T' then '楼宇' end
                                                        as estate_kind,
        g.grid_code                                     as evidence_grid_code,
        g.basis,
        coalesce(gr.community_code, c.community_code)   as community_code,
        coalesce(g.n_grids, 0)                          as n_grids
    from keys as k
    left join main_grid as g on g.estate_match_key = k.estate_match_key and g.rn = 1
    left join {{ ref('int_grids') }} as gr on gr.grid_code = g.grid_code
    left join property as p on p.estate_match_key = k.estate_match_key
    left join (
        select community_core, min(community_code) as community_code
        from {{ ref('int_communities') }} group by community_core having count(*) = 1
    ) as c on c.community_core = p.community_core
),

-- the grid type (wg_grid.wglx) holding most placed estates of each kind, learnt from this city's own placements
kind_grid_type as (
    select estate_kind, grid_type
    from (
        select e.estate_kind, g.grid_type,
               row_number() over (partition by e.estate_kind order by count(*) desc, g.grid_type) as rn
        from evidenced as e
        inner join {{ ref('int_grids') }} as g on g.grid_code = e.evidence_grid_code
        where e.estate_kind is not null and g.grid_type is not null
        group by e.estate_kind, g.grid_type
    ) as t
    where rn = 1
),

unplaced as (
    select e.estate_match_key, e.estate_kind, e.community_code,
           count(*) over (partition by e.community_code, e.estate_kind) as n_unplaced
    from evidenced as e
    where e.evidence_grid_code is null and e.community_code is not null and e.estate_kind is not null
),

free_grids as (
    select g.community_code, t.estate_kind, min(g.grid_code) as grid_code, count(*) as n_free
    from {{ ref('int_grids') }} as g
    inner join kind_grid_type as t on t.grid_type = g.grid_type
    where g.grid_code not in (select v.evidence_grid_code from evidenced as v where v.evidence_grid_code is not null)
    group by g.community_code, t.estate_kind
),

inferred as (
    select u.estate_match_key, f.grid_code
    from unplaced as u
    inner join free_grids as f on f.community_code = u.community_code and f.estate_kind = u.estate_kind
    where u.n_unplaced = 1 and f.n_free = 1
)

select
    {{ opaque_key('E', 'k.estate_match_key') }}         as estate_key,
    k.estate_match_key,
    d.estate_name,
    a.names                                             as estate_names,
    case right(k.estate_match_key, 1) when 'R' then '小区' when 'Y' then '楼院' when 'T' then '楼宇' end as estate_kind,
    p.road_address,
    coalesce(ev.evidence_grid_code, i.grid_code)        as main_grid_code,
    case when ev.evidence_grid_code is not null then ev.basis
         when i.grid_code is not null then 'community_exclusion' end as main_grid_basis,
    ev.community_code,
    ev.n_grids,
    coalesce(p.n_companies, 0)                          as n_property_companies,
    p.households_reported
from keys as k
left join display as d on d.estate_match_key = k.estate_match_key and d.rn = 1
left join alias_list as a on a.estate_match_key = k.estate_match_key
left join evidenced as ev on ev.estate_match_key = k.estate_match_key
left join inferred as i on i.estate_match_key = k.estate_match_key
left join property as p on p.estate_match_key = k.estate_match_key
