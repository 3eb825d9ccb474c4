-- The single as-of date of the catalog, governance and points marts: var `as_of` (YYYY-MM-DD) when
-- given, else the latest day seen in any of their inputs (so a demo run is deterministic), else today.
-- snapshot_at = the end of that day (exclusive): what happened before it is "known as of" the date.
with latest as (
    select max(d) as d from (
        select max(cast(accepted_at as date)) as d from {{ ref('stg_approval__cases') }}
        union all select max(cast(completed_at as date)) from {{ ref('stg_approval__cases') }}
        union all select max(cast(evaluated_at as date)) from {{ ref('stg_approval__evaluations') }}
        union all select max(cast(ordered_at as date)) from {{ ref('stg_services__orders') }}
        union all select max(cast(completed_at as date)) from {{ ref('stg_services__orders') }}
        union all select max(cast(reported_at as date)) from {{ ref('stg_grid__events') }}
        union all select max(cast(closed_at as date)) from {{ ref('stg_grid__events') }}
        union all select max(cast(acted_at as date)) from {{ ref('stg_grid__event_steps') }}
        union all select max(served_on) from {{ ref('stg_party__service_records') }}
    ) as maxima
),

resolved as (
    select cast(coalesce({{ as_of_date_literal() }}, latest.d, current_date) as date) as as_of_date
    from latest
)

select
    as_of_date,
    cast({{ dbt.dateadd('day', 1, 'as_of_date') }} as timestamp) as snapshot_at
from resolved
