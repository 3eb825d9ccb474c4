{#- Key events, appended each run: 'merge' (records of several previous keys now form one resident: one
    row per retired/kept old key -> the surviving key) and 'split' (records of one previous key now belong
    to several residents: one row per resulting key). records = how many records went old -> new. -#}
{{ config(materialized='incremental', incremental_strategy='append') }}

{%- set run_ts = "cast('" ~ run_started_at.strftime('%Y-%m-%d %H:%M:%S') ~ "' as timestamp)" %}

with this_run as (
    select resident_key, previous_resident_key
    from {{ ref('resident_key_registry') }}
    where keyed_at = {{ run_ts }} and previous_resident_key is not null
),

moves as (
    select previous_resident_key as old_key, resident_key as new_key, count(*) as records
    from this_run
    group by previous_resident_key, resident_key
),

merged as (
    select new_key from moves group by new_key having count(*) > 1
),

split as (
    select old_key from moves group by old_key having count(*) > 1
)

select 'merge' as event, mv.old_key, mv.new_key, mv.records, {{ run_ts }} as recorded_at
from moves as mv
inner join merged as g on g.new_key = mv.new_key
union all
select 'split', mv.old_key, mv.new_key, mv.records, {{ run_ts }}
from moves as mv
inner join split as s on s.old_key = mv.old_key
