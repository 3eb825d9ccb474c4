-- One row per record of the three channels a resident's demand (诉求) arrives through: grid events (wg_sj),
-- 12345 hotline tickets and property complaints, in one shape. Per record: its channel's own category (a
-- ticket's 诉求类别, else 诉求类型; an event's major category as int_grid_events_categorised resolves it; a
-- complaint's 投诉类别), when it was reported, dispatched (an event's first 派遣 step, a ticket's 派单时间; a
-- complaint has none) and closed, the satisfaction (a ticket's follow-up result only when it is 满意 /
-- 基本满意 / 不满意), the handling department's name (a complaint: 物业企业, the
-- property company) and whether the source flags it as a repeat (a ticket naming the ticket it repeats).
-- No reporter names or phones. The marts place records through identity.grid_xref / demand_xref by source key.
with dispatch_steps as (
    select s.event_id, min(s.acted_at) as dispatched_at
    from {{ ref('stg_grid__event_steps') }} as s
    where s.step = '派遣'
    group by s.event_id
),

events as (
    select
        'grid'                          as source_system,
        'wg_sj'                         as source_table,
        e.source_key,
        e.category_major_name           as category,
        e.reported_at,
        ds.dispatched_at,
        e.closed_at,
        e.satisfaction,
        e.handling_dept_name,
        false                           as is_flagged_repeat
    from {{ ref('int_grid_events_categorised') }} as e
    left join dispatch_steps as ds on ds.event_id = e.event_id
),

tickets as (
    select
        'hotline', 'tickets', t.source_key,
        coalesce(t.request_category, t.request_type),
        t.received_at,
        t.dispatched_at,
        t.completed_at,
        case when t.follow_up_result in ('满意', '基本满意', '不满意') then t.follow_up_result end,
        t.assigned_department_name,
        t.repeats_ticket_id is not null
    from {{ ref('stg_hotline__tickets') }} as t
),

complaints as (
    select
        'property', 'complaints', p.source_key,
        p.category,
        p.accepted_at,
        cast(null as timestamp),
        p.completed_at,
        p.satisfaction,
        '物业企业',
        false
    from {{ ref('stg_property__complaints') }} as p
)

select * from events
union all
select * from tickets
union all
select * from complaints
