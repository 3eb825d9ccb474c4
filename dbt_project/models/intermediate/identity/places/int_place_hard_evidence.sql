-- Per place-bearing record, what its direct evidence says (before any estate inference):
--   code_grid_code       a stated grid code that exists in the grid system
--   text_grid_code       a grid text ("第3网格", "三网格", "前进社区3网格") resolved in its community
--   point_grid_code      the grid whose boundary holds the record's coordinates
--   community_code       the community named by the record (grid text, community name, division code)
--   street_code          the street, when that is the finest thing named
with mentions as (
    select * from {{ ref('int_place_mentions') }}
),

grids as (
    select * from {{ ref('int_grids') }}
),

communities as (
    select * from {{ ref('int_communities') }}
),

parsed as (
    select
        m.*,
        {{ rx_groups('m.grid_text', grid_text_pattern(), 2) }} as _mg
    from mentions as m
),

texts as (
    select
        p.source_system, p.source_table, p.source_key,
        p.given_grid_code, p.grid_text, p.community_text, p.division_code, p.street_text,
        {{ community_core(rx_group('p._mg', 1)) }}      as grid_text_community_core,
        {{ cn_to_int(rx_group('p._mg', 2)) }}           as grid_text_seq,
        {{ community_core('p.community_text') }}        as community_text_core
    from parsed as p
),

-- a community core name identifies a community only when it is unique (or unique in the street named)
community_by_core as (
    select community_core, min(community_code) as community_code, count(*) as n
    from communities
    group by community_core
),

streets as (
    select street_name, min(street_code) as street_code
    from communities
    where street_name is not null
    group by street_name
    having count(distinct street_code) = 1
),

resolved_community as (
    select
        t.*,
        code_grid.grid_code                             as code_grid_code,
        coalesce(
            case when cg.n = 1 then cg.community_code end,
            case when ct.n = 1 then ct.community_code end,
            cd.community_code,
            cs.community_code
        )                                               as community_code,
        coalesce(sd.division_code, st.street_code)      as street_code_named
    from texts as t
    left join grids as code_grid on code_grid.grid_code = t.given_grid_code
    left join community_by_core as cg on cg.community_core = t.grid_text_community_core
    left join community_by_core as ct on ct.community_core = t.community_text_core
    left join communities as cd on cd.community_code = t.division_code
    -- a community name shared by several communities, disambiguated by the street named with it
    left join communities as cs
        on cs.community_core = coalesce(t.grid_text_community_core, t.community_text_core)
       and cs.street_name = t.street_text
       and cs.n_same_core > 1
    left join {{ ref('stg_reference__divisions') }} as sd
        on sd.division_code = t.division_code and sd.division_level = '街道'
    left join streets as st on st.street_name = t.street_text
),

with_text_grid as (
    select
        r.*,
        tg.grid_code                                    as text_grid_code
    from resolved_community as r
    left join grids as tg
        on tg.community_code = r.community_code
       and tg.grid_seq = r.grid_text_seq
)

select
    w.source_system, w.source_table, w.source_key,
    w.given_grid_code, w.grid_text, w.community_text, w.division_code, w.street_text,
    w.code_grid_code,
    w.text_grid_code,
    pt.grid_code                                        as point_grid_code,
    w.community_code,
    w.street_code_named
from with_text_grid as w
left join {{ ref('int_points_in_grids') }} as pt
    on pt.source_system = w.source_system
   and pt.source_table = w.source_table
   and pt.source_key = w.source_key
