{{ config(materialized='view') }}
-- Records that carry coordinates (WGS84 lon/lat).
select 'grid' as source_system, 'wg_sj' as source_table, source_key,
       cast(longitude as double precision) as lon, cast(latitude as double precision) as lat
from {{ ref('stg_grid__events') }}
where longitude is not null and latitude is not null
union all
select 'services', 'sites', source_key,
       cast(longitude as double precision), cast(latitude as double precision)
from {{ ref('stg_services__sites') }}
where longitude is not null and latitude is not null
