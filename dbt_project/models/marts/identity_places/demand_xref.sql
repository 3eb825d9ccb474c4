{{ config(materialized='table', schema='identity') }}
-- One row per channel record of a demand (grid event, 12345 ticket, property complaint), with
-- the demand it belongs to: one incident reported through several channels is one demand.
select
    r.source_system,
    r.source_table,
    r.source_key,
    c.demand_key
from {{ ref('int_demand_reports') }} as r
inner join {{ ref('int_demand_clusters') }} as c on c.report_id = r.report_id
