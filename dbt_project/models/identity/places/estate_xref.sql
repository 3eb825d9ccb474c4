-- One row per source record that names an estate (property files, addresses, incident places,
-- estate party branches), with the estate it names.
select
    a.source_system,
    a.source_table,
    a.source_key,
    e.estate_key
from {{ ref('int_place_addresses_parsed') }} as a
inner join {{ ref('int_estates') }} as e on e.estate_match_key = a.estate_match_key
