{{ config(materialized='table', schema='identity') }}
-- One row per estate with every name it goes by, its kind, road address (property files), the
-- grid holding most of its households, its community, how many grids it spans and how many
-- property companies report it.
select
    estate_key,
    estate_name,
    estate_names,
    estate_kind,
    road_address,
    main_grid_code,
    community_code,
    n_grids,
    n_property_companies,
    households_reported
from {{ ref('int_estates') }}
