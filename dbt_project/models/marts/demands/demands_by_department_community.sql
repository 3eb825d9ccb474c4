{{ config(enabled=var('yiwang_identity_marts', false)) }}
-- Demands (one per identity.demand_xref demand_key: the same demand reported through several channels
-- counts once) per handling department and community: channel mix, repeats, dispatch -> close time and
-- satisfaction. Built on the identity layer (models/identity/demands); enabled by the var
-- yiwang_identity_marts.
with xref as (
    select x.source_system, x.source_table, x.source_key, x.demand_key from {{ ref('demand_xref') }} as x
),

-- the community the identity layer gives an event / ticket / complaint (identity.grid_xref)
places as (
    select x.source_system, x.source_table, x.source_key, x.community_code from {{ ref('grid_xref') }} as x
),

departments as (
    select d.department_uscc, d.department_name from {{ ref('stg_reference__departments') }} as d
),

dispatch_steps as (
    select s.event_id, min(s.acted_at) as dispatched_at
    from {{ ref('stg_grid__event_steps') }} as s where s.step = '派遣' group by s.event_id
),

records as (
    select 'grid' as source_system, 'wg_sj' as source_table, e.event_id as source_key,
           e.reported_at, coalesce(ds.dispatched_at, e.reported_at) as dispatched_at, e.closed_at,
           e.satisfaction, dp.department_name, g.community_code, 0 as flagged_repeat
    from {{ ref('stg_grid__events') }} as e
    left join dispatch_steps as ds on ds.event_id = e.event_id
    left join departments as dp on dp.department_uscc = e.handling_dept_uscc
    left join places as g
        on g.source_system = 'grid' and g.source_table = 'wg_sj' and g.source_key = e.source_key
    union all
    select 'hotline', 'tickets', t.ticket_id, t.received_at, coalesce(t.dispatched_at, t.received_at), t.completed_at,
           case when t.follow_up_result in ('满意', '基本满意', '不满意') then t.follow_up_result end,
           t.assigned_department_name, c.community_code,
           case when t.repeats_ticket_id is not null then 1 else 0 end
    from {{ ref('stg_hotline__tickets') }} as t
    left join places as c
        on c.source_system = 'hotline' and c.source_table = 'tickets' and c.source_key = t.source_key
    union all
    select 'property', 'complaints', p.complaint_id, p.accepted_at, p.accepted_at, p.completed_at,
           p.satisfaction, '物业企业', c.community_code, 0
    from {{ ref('stg_property__complaints') }} as p
    left join places as c
        on c.source_system = 'property' and c.source_table = 'complaints' and c.source_key = p.source_key
),

per_demand as (
    select
        x.demand_key,
        max(case when r.source_system = 'grid' then 1 else 0 end)      as via_grid,
        max(case when r.source_system = 'hotline' then 1 else 0 end)   as via_hotline,
        max(case when r.source_system = 'property' then 1 else 0 end)  as via_property,
        count(*)                                                       as records,
        max(r.flagged_repeat)                                          as flagged_repeat,
        min(r.dispatched_at)                                           as dispatched_at,
        case when count(r.closed_at) = count(*) then max(r.closed_at) end as closed_at,
        max(case when r.satisfaction = '不满意' then 1 when r.satisfaction is not null then 0 end) as any_unsatisfied,
        min(r.department_name)                                         as department_name,
        min(r.community_code)                                          as community_code
    from xref as x
    inner join records as r
        on r.source_system = x.source_system and r.source_table = x.source_table and r.source_key = x.source_key
    group by x.demand_key
)

select
    cast(d.department_name as varchar)                                          as department_name,
    cast(d.community_code as varchar)                                           as community_code,
    cast(count(*) as integer)                                                   as demands,
    cast(sum(d.records) as integer)                                             as records,
    cast(sum(d.via_grid) as integer)                                            as demands_via_grid,
    cast(sum(d.via_hotline) as integer)                                         as demands_via_hotline,
    cast(sum(d.via_property) as integer)                                        as demands_via_property,
    cast(sum(case when d.via_grid + d.via_hotline + d.via_property > 1 then 1 else 0 end) as integer) as demands_multi_channel,
    cast(sum(case when d.records > 1 or d.flagged_repeat = 1 then 1 else 0 end) as integer) as demands_repeated,
    cast(count(d.closed_at) as integer)                                         as demands_closed,
    {{ exact_avg("case when d.closed_at is not null then " ~ hours_between('d.dispatched_at', 'd.closed_at') ~ " end") }}
                                                                                as avg_dispatch_to_close_hours,
    cast(count(d.any_unsatisfied) as integer)                                   as demands_rated,
    cast(sum(case when d.any_unsatisfied = 0 then 1 else 0 end) as integer)     as demands_satisfied
from per_demand as d
group by d.department_name, d.community_code
