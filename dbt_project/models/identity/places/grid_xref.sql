-- One row per source record that concerns a place: its grid (or only its community / street
-- when that is all the evidence gives) and the evidence used. See int_grid_resolved.
select
    source_system,
    source_table,
    source_key,
    grid_code,
    community_code,
    resolution_level,
    evidence
from {{ ref('int_grid_resolved') }}
