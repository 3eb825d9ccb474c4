{{ config(enabled=var('yiwang_identity_marts', false) and var('yiwang_restricted_marts', false)) }}
-- Once-only view (一次都不跑): per resident_key, which systems hold a record of the resident and which
-- services they used, from identity.resident_xref joined back to the service records
-- (int_resident_service_records) and to the name each record gives (int_residents_records_unioned). No raw
-- ids, phones or addresses; the name only masked (张*). Restricted schema mart_residents.
with xref as (
    select x.source_system, x.source_table, x.source_key, x.resident_key from {{ ref('resident_xref') }} as x
),

records as (
    select r.source_system, r.source_table, r.source_key, r.service_kind, r.service_code, r.happened_at
    from {{ ref('int_resident_service_records') }} as r
),

-- the name each record gives the person (int_residents_records_unioned, restricted: schema staging)
record_names as (
    select u.source_system, u.source_table, u.source_key, u.name
    from {{ ref('int_residents_records_unioned') }} as u
),

joined as (
    select x.resident_key, r.*, nm.name
    from xref as x
    inner join records as r
        on r.source_system = x.source_system and r.source_table = x.source_table and r.source_key = x.source_key
    left join record_names as nm
        on nm.source_system = x.source_system and nm.source_table = x.source_table and nm.source_key = x.source_key
),

names as (
    select j.resident_key, min(j.name) as name from joined as j where j.name is not null group by j.resident_key
)

select
    cast(j.resident_key as varchar)                                                  as resident_key,
    cast(case when n.name is not null then substr(n.name, 1, 1) || '*' end as varchar) as masked_name,
    cast(j.source_system as varchar)                                                 as source_system,
    cast(j.source_table as varchar)                                                  as source_table,
    cast(j.service_kind as varchar)                                                  as service_kind,
    cast(j.service_code as varchar)                                                  as service_code,
    cast(count(*) as integer)                                                        as records,
    cast(min(j.happened_at) as timestamp)                                            as first_at,
    cast(max(j.happened_at) as timestamp)                                            as last_at
from joined as j
left join names as n on n.resident_key = j.resident_key
group by j.resident_key, n.name, j.source_system, j.source_table, j.service_kind, j.service_code
