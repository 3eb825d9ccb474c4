{{ config(enabled=var('yiwang_identity_marts', false) and var('yiwang_restricted_marts', false)) }}
-- Once-only view (一次都不跑): per resident_key, which systems hold a record of the resident and which
-- services they used, from identity.resident_xref joined back to the staged records. No raw ids,
-- phones or addresses; the name only masked (张*). Restricted schema mart_residents.
with xref as (
    select x.source_system, x.source_table, x.source_key, x.resident_key from {{ ref('resident_xref') }} as x
),

records as (
    select 'grid' as source_system, 'wg_syrk' as source_table, r.resident_id as source_key, r.name,
           '实有人口登记' as service_kind, cast(null as varchar) as service_code, r.registered_at as happened_at
    from {{ ref('stg_grid__residents') }} as r
    union all
    select 'approval', 'cases', c.case_id, c.applicant_name, '政务服务办件', c.item_code, c.accepted_at
    from {{ ref('stg_approval__cases') }} as c
    union all
    select 'services', 'orders', o.order_id, o.customer_name, '生活服务订单', o.item_code, o.ordered_at
    from {{ ref('stg_services__orders') }} as o
    union all
    select 'hotline', 'tickets', t.ticket_id, t.caller_name, '12345诉求', t.request_type, t.received_at
    from {{ ref('stg_hotline__tickets') }} as t
    union all
    select 'property', 'owners', w.source_key, w.owner_name, '业主登记', cast(null as varchar), cast(null as timestamp)
    from {{ ref('stg_property__owners') }} as w
    union all
    select 'property', 'complaints', p.complaint_id, p.complainant_name, '物业投诉', p.category, p.accepted_at
    from {{ ref('stg_property__complaints') }} as p
    union all
    select 'grid', 'wg_sj', e.event_id, e.reporter_name, '网格事件上报', e.category_code, e.reported_at
    from {{ ref('stg_grid__events') }} as e
),

joined as (
    select x.resident_key, r.*
    from xref as x
    inner join records as r
        on r.source_system = x.source_system and r.source_table = x.source_table and r.source_key = x.source_key
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
