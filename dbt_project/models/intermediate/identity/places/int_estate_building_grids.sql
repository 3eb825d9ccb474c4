-- Where each estate's buildings lie, learned from records that name both an estate (address)
-- and a grid by direct evidence (grid code, grid text or coordinates): residents (wg_syrk),
-- grid events, party registrations. One row per (estate_match_key, building, grid_code) with
-- the households / records seen there; int_estates and the grid resolution read the majority.
with hard as (
    select
        source_system, source_table, source_key,
        coalesce(code_grid_code, text_grid_code, point_grid_code) as grid_code
    from {{ ref('int_place_hard_evidence') }}
),

addr as (
    select * from {{ ref('int_place_addresses_parsed') }}
    where estate_match_key is not null and parse_kind <> 'estate_name'
)

select
    a.estate_match_key,
    a.building,
    h.grid_code,
    count(distinct coalesce(cast(a.building as varchar) || '-' || cast(a.unit as varchar) || '-' || a.room,
                            a.source_system || a.source_table || a.source_key)) as households,
    count(*)                                            as records
from addr as a
inner join hard as h
    on h.source_system = a.source_system
   and h.source_table = a.source_table
   and h.source_key = a.source_key
where h.grid_code is not null
group by a.estate_match_key, a.building, h.grid_code
