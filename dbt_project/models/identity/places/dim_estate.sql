-- One row per estate with every name it goes by, its kind, road address (property files), its
-- main grid and the basis of it (int_estates), its community, how many grids it spans and how many
-- property companies report it.
select
    estate_key,
    estate_name,
    estate_names,
    estate_kind,
    road_address,
    main_grid_code,
    main_grid_basis,
    community_code,
    n_grids,
    n_property_companies,
    households_reported
from {{ ref('int_estates') }}
