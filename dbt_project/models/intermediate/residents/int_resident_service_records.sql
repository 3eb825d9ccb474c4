-- One row per record of a service a resident used, in the once-only view's terms (一次都不跑): the grid's
-- population registration (wg_syrk), approval cases (办件), life-service orders, 12345 tickets, property owner
-- registrations and complaints, and grid events reported (their category as int_grid_events_categorised
-- resolves it). Per record: the kind of service, its code (item, request type, complaint or event category)
-- and when it happened. No names, ids or phones: the mart finds the resident through identity.resident_xref.
select 'grid' as source_system, 'wg_syrk' as source_table, r.source_key,
       '实有人口登记' as service_kind, cast(null as varchar) as service_code, r.registered_at as happened_at
from {{ ref('stg_grid__residents') }} as r
union all
select 'approval', 'cases', c.source_key, '政务服务办件', c.item_code, c.accepted_at
from {{ ref('stg_approval__cases') }} as c
union all
select 'services', 'orders', o.source_key, '生活服务订单', o.item_code, o.ordered_at
from {{ ref('stg_services__orders') }} as o
union all
select 'hotline', 'tickets', t.source_key, '12345诉求', t.request_type, t.received_at
from {{ ref('stg_hotline__tickets') }} as t
union all
select 'property', 'owners', w.source_key, '业主登记', cast(null as varchar), cast(null as timestamp)
from {{ ref('stg_property__owners') }} as w
union all
select 'property', 'complaints', p.source_key, '物业投诉', p.category, p.accepted_at
from {{ ref('stg_property__complaints') }} as p
union all
select 'grid', 'wg_sj', e.source_key, '网格事件上报', e.category_code, e.reported_at
from {{ ref('int_grid_events_categorised') }} as e
