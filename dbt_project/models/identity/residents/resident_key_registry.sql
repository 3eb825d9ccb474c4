{#- Persistent resident keys. One row per person-bearing record ever seen, carrying its key forward.

    Each run: every current cluster (int_residents_records_matched) votes with its records' previous
    keys. A previous key goes to the cluster holding most of its records (ties -> the smaller cluster
    ref); a cluster keeps, among the keys it won, the one most of its records held (ties -> the oldest
    key). A cluster that won no key mints one: 'R' || 20 letters from md5('resident|' || its first
    record ref || '|' || that record's previous key), hex digits mapped to g-p so a key never contains a
    digit run. Keys come from record refs (system:table:contract key), never from ID numbers or phones.
    Unchanged clusters therefore keep their keys; a merge keeps the majority key and retires the
    others; a split leaves the key with the larger part and mints for the rest
    (resident_key_history records both). A full refresh re-mints deterministically from record refs.
-#}
{{ config(
    materialized='incremental',
    unique_key='record_ref',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns'
) }}

{%- set run_ts = "cast('" ~ run_started_at.strftime('%Y-%m-%d %H:%M:%S') ~ "' as timestamp)" %}

with m as (
    select record_ref, source_system, source_table, source_key, cluster_ref
    from {{ ref('int_residents_records_matched') }}
),

{% if is_incremental() %}
prev as (
    select record_ref, resident_key as prev_key, first_keyed_at
    from {{ this }}
),
{% else %}
prev as (
    select cast(null as varchar) as record_ref, cast(null as varchar) as prev_key,
           cast(null as timestamp) as first_keyed_at
    where 1 = 0
),
{% endif %}

key_age as (
    select prev_key, min(first_keyed_at) as key_born
    from prev
    group by prev_key
),

votes as (
    select m.cluster_ref, p.prev_key, count(*) as n
    from m
    inner join prev as p on p.record_ref = m.record_ref
    group by m.cluster_ref, p.prev_key
),

key_owner as (
    select v.*, row_number() over (partition by v.prev_key order by v.n desc, v.cluster_ref asc) as rk
    from votes as v
),

kept as (
    select o.cluster_ref, o.prev_key as resident_key,
           row_number() over (partition by o.cluster_ref order by o.n desc, a.key_born asc, o.prev_key asc) as rn
    from key_owner as o
    inner join key_age as a on a.prev_key = o.prev_key
    where o.rk = 1
),

first_member as (
    select m.cluster_ref, min(m.record_ref) as first_ref
    from m
    group by m.cluster_ref
),

cluster_key as (
    select f.cluster_ref,
           coalesce(k.resident_key,
               'R' || translate(substr(md5('resident|' || f.first_ref || '|' || coalesce(p.prev_key, '')), 1, 20),
                                '0123456789', 'ghijklmnop')) as resident_key,
           k.resident_key is null as minted
    from first_member as f
    left join kept as k on k.cluster_ref = f.cluster_ref and k.rn = 1
    left join prev as p on p.record_ref = f.first_ref
)

select
    m.record_ref,
    m.source_system,
    m.source_table,
    m.source_key,
    c.resident_key,
    p.prev_key                                  as previous_resident_key,
    coalesce(p.first_keyed_at, {{ run_ts }})    as first_keyed_at,
    {{ run_ts }}                                as keyed_at
from m
inner join cluster_key as c on c.cluster_ref = m.cluster_ref
left join prev as p on p.record_ref = m.record_ref
