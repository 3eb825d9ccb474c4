-- Each place-bearing record resolved to the finest level its evidence allows.
-- Precedence (most exact first):
--   grid_code        a stated grid code that exists
--   coordinates      the grid whose boundary holds the point
--   grid_text        "第3网格" / "三网格" / "前进社区3网格" in the community it names or sits in
--   estate_building  the estate and building of an address -> the grid of that building (the
--                    nearest observed building of the same estate when that one was never seen)
--   estate           an estate without a building -> its main grid (int_estates: the grid its own party
--                    branch states, else the one holding most of its buildings / households)
--   estate_community_exclusion  an estate no record places, in the only free grid of its type in its community
--                    (int_estates.main_grid_basis = 'community_exclusion')
--   community_single_grid  a community the grid reference divides into one grid only: that grid
--   community        a community name / division code only -> grid NULL, community_code set
--   street           a street only
-- An estate-derived grid is not used when the record names a different community.
-- A record that names a person (approval case of a natural person, service order) and gives no grid by any of
-- the above takes the grid the person is registered in (wg_syrk): by ID number or name + phone
-- (person_residence), else by the resident the identity layer matched it to (person_cluster_residence: the
-- one grid of the current register rows in its int_residents_records_matched cluster), else the one grid where
-- that resident's own home-address records (a case's applicant address, an order's service address, an owner's
-- flat, a member's home, a registration's residence) are placed by their own evidence (person_cluster_address).
with hard as (
    select * from {{ ref('int_place_hard_evidence') }}
),

addr as (
    select * from {{ ref('int_place_addresses_parsed') }}
),

estates as (
    select * from {{ ref('int_estates') }}
),

building_grid as (
    select
        estate_match_key, building, grid_code,
        row_number() over (partition by estate_match_key, building
                           order by households desc, records desc, grid_code asc) as rn
    from {{ ref('int_estate_building_grids') }}
    where building is not null
),

building_majority as (
    select estate_match_key, building, grid_code from building_grid where rn = 1
),

addr_building as (
    select
        a.source_system, a.source_table, a.source_key,
        b.grid_code,
        case when b.building = a.building then 'estate_building' else 'estate_nearest_building' end as how,
        row_number() over (
            partition by a.source_system, a.source_table, a.source_key
            order by abs(b.building - a.building),
                     case when b.grid_code = e.main_grid_code then 0 else 1 end,
                     b.building
        ) as rn
    from addr as a
    inner join building_majority as b on b.estate_match_key = a.estate_match_key
    left join estates as e on e.estate_match_key = a.estate_match_key
    where a.building is not null
),

combined as (
    select
        h.source_system, h.source_table, h.source_key,
        h.code_grid_code, h.point_grid_code, h.text_grid_code,
        ab.grid_code                                    as building_grid_code,
        ab.how                                          as building_how,
        e.main_grid_code                                as estate_grid_code,
        e.main_grid_basis                               as estate_grid_basis,
        e.estate_key,
        h.community_code                                as named_community_code,
        h.street_code_named
    from hard as h
    left join addr as a
        on a.source_system = h.source_system and a.source_table = h.source_table and a.source_key = h.source_key
    left join estates as e on e.estate_match_key = a.estate_match_key
    left join addr_building as ab
        on ab.source_system = h.source_system and ab.source_table = h.source_table
       and ab.source_key = h.source_key and ab.rn = 1
),

grids as (
    select grid_code, community_code, street_code from {{ ref('int_grids') }}
),

-- communities with a single grid (reference data): naming the community names the grid
single_grid_communities as (
    select community_code, min(grid_code) as grid_code
    from grids
    group by community_code
    having count(*) = 1
),

-- the one registered grid of each resident cluster (current register rows only)
cluster_residence as (
    select m.cluster_ref, min(r.grid_code) as grid_code
    from {{ ref('int_residents_records_matched') }} as m
    inner join {{ ref('stg_grid__residents') }} as r
        on m.source_system = 'grid' and m.source_table = 'wg_syrk' and r.source_key = m.source_key
    inner join grids as g on g.grid_code = r.grid_code
    where not r.is_deleted
    group by m.cluster_ref
    having min(r.grid_code) = max(r.grid_code)
),

-- records that name a person: approval cases of natural persons, service orders
person_keyed as (
    select 'approval' as source_system, 'cases' as source_table, c.source_key,
           coalesce(pi.grid_code, pn.grid_code) as person_grid_code
    from {{ ref('stg_approval__cases') }} as c
    left join {{ ref('int_person_residences') }} as pi
        on pi.key_kind = 'id_no' and pi.person_key = {{ idn_hmac('c.applicant_id_no') }}
    left join {{ ref('int_person_residences') }} as pn
        on pn.key_kind = 'name_phone'
       and pn.person_key = {{ idn_hmac("c.applicant_name || '|' || c.applicant_phone") }}
    where coalesce(c.applicant_type, '') <> '法人'
    union all
    select 'services', 'orders', o.source_key, pn.grid_code
    from {{ ref('stg_services__orders') }} as o
    left join {{ ref('int_person_residences') }} as pn
        on pn.key_kind = 'name_phone' and pn.person_key = {{ idn_hmac("o.customer_name || '|' || o.phone") }}
),

person_records as (
    select
        k.source_system, k.source_table, k.source_key,
        coalesce(k.person_grid_code, cr.grid_code)      as person_grid_code,
        case when k.person_grid_code is not null then 'person_residence'
             when cr.grid_code is not null then 'person_cluster_residence' end as person_evidence
    from person_keyed as k
    left join {{ ref('int_residents_records_matched') }} as m
        on m.source_system = k.source_system and m.source_table = k.source_table and m.source_key = k.source_key
    left join cluster_residence as cr on cr.cluster_ref = m.cluster_ref
),

picked as (
    select
        c.*,
        case
            when c.code_grid_code is not null then c.code_grid_code
            when c.point_grid_code is not null then c.point_grid_code
            when c.text_grid_code is not null then c.text_grid_code
            when c.building_grid_code is not null
             and (c.named_community_code is null or bg.community_code = c.named_community_code) then c.building_grid_code
            when c.estate_grid_code is not null
             and (c.named_community_code is null or eg.community_code = c.named_community_code) then c.estate_grid_code
            when sg.grid_code is not null then sg.grid_code
        end                                             as grid_code,
        case
            when c.code_grid_code is not null then 'grid_code'
            when c.point_grid_code is not null then 'coordinates'
            when c.text_grid_code is not null then 'grid_text'
            when c.building_grid_code is not null
             and (c.named_community_code is null or bg.community_code = c.named_community_code) then c.building_how
            when c.estate_grid_code is not null
             and (c.named_community_code is null or eg.community_code = c.named_community_code)
                then case when c.estate_grid_basis = 'community_exclusion' then 'estate_community_exclusion'
                          else 'estate' end
            when sg.grid_code is not null then 'community_single_grid'
            when c.named_community_code is not null then 'community_name'
            when c.street_code_named is not null then 'street_name'
            else 'unresolved'
        end                                             as evidence
    from combined as c
    left join grids as bg on bg.grid_code = c.building_grid_code
    left join grids as eg on eg.grid_code = c.estate_grid_code
    left join single_grid_communities as sg on sg.community_code = c.named_community_code
),

-- the one grid where a resident's home-address records are placed by their own evidence (before any person rule)
cluster_home as (
    select m.cluster_ref, min(p.grid_code) as grid_code
    from picked as p
    inner join {{ ref('int_residents_records_matched') }} as m
        on m.source_system = p.source_system and m.source_table = p.source_table and m.source_key = p.source_key
    where p.grid_code is not null
      and p.source_system || '.' || p.source_table in
          ('approval.cases', 'services.orders', 'property.owners', 'party.dj_dy', 'party.dj_bd')
    group by m.cluster_ref
    having min(p.grid_code) = max(p.grid_code)
),

person_placed as (
    select
        pr.source_system, pr.source_table, pr.source_key,
        coalesce(pr.person_grid_code, ch.grid_code)     as person_grid_code,
        case when pr.person_grid_code is not null then pr.person_evidence
             when ch.grid_code is not null then 'person_cluster_address' end as person_evidence
    from person_records as pr
    left join {{ ref('int_residents_records_matched') }} as m
        on m.source_system = pr.source_system and m.source_table = pr.source_table
       and m.source_key = pr.source_key
    left join cluster_home as ch on ch.cluster_ref = m.cluster_ref
),

-- a person-bearing record whose place evidence gave no grid (or that had none) takes the
-- grid the person is registered in
with_people as (
    select
        coalesce(p.source_system, pr.source_system)     as source_system,
        coalesce(p.source_table, pr.source_table)       as source_table,
        coalesce(p.source_key, pr.source_key)           as source_key,
        coalesce(p.grid_code, pr.person_grid_code)      as grid_code,
        case when p.grid_code is null and pr.person_grid_code is not null then pr.person_evidence
             else p.evidence end                        as evidence,
        p.named_community_code,
        p.street_code_named,
        p.estate_key
    from picked as p
    full outer join person_placed as pr
        on pr.source_system = p.source_system and pr.source_table = p.source_table
       and pr.source_key = p.source_key
    where p.source_key is not null or pr.person_grid_code is not null
)

select
    p.source_system,
    p.source_table,
    p.source_key,
    p.grid_code,
    coalesce(g.community_code, p.named_community_code)  as community_code,
    coalesce(g.street_code, p.street_code_named)        as street_code,
    case
        when p.grid_code is not null then 'grid'
        when p.named_community_code is not null then 'community'
        when p.street_code_named is not null then 'street'
        else 'unresolved'
    end                                                 as resolution_level,
    p.evidence,
    p.estate_key
from with_people as p
left join grids as g on g.grid_code = p.grid_code
