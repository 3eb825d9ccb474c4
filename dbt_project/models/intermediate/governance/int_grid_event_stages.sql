-- Time per workflow stage of each grid event (事件闭环: 发现-上报-立案-派遣-处置-反馈-核查-结案-评价).
--
-- The event's steps (wg_sjlz) are ordered by acted_at, then step id. Each step starts an interval that
-- ends at the next step; the event's discovery interval runs from reported_at (sbsj) to its first step.
-- An interval belongs to the stage of the latest MAIN step (上报 立案 派遣 处置 反馈 核查 结案 评价) at
-- or before its start ('发现' before the first main step). 吹哨, 报到, 退回 and 延期 are annotations:
-- they do not change the stage, so their time stays with the stage the event was in:
--   * 退回 (returned): counted in return_count; the rework shows up as the stage repeating — a second
--     处置 after a return adds its time to 处置 again (stage hours are SUMS over all visits);
--   * 延期 (extension): counted in extension_count; the deadline (clsx) is not moved by it;
--   * 吹哨 → 报到: whistle_response_hours = first 报到 after the first 吹哨 − the first 吹哨.
-- The interval after the last step is open-ended and not counted; a stage never reached is NULL.
-- So for every event: sum of the stage hours = last step − reported_at (when there is a step).
with steps as (
    select
        s.event_id,
        s.event_step_id,
        s.step,
        s.acted_at,
        case when s.step in ('上报', '立案', '派遣', '处置', '反馈', '核查', '结案', '评价') then 1 else 0 end as is_main
    from {{ ref('stg_grid__event_steps') }} as s
    where s.event_id is not null and s.acted_at is not null
),

ordered as (
    select
        steps.*,
        sum(steps.is_main) over (partition by steps.event_id order by steps.acted_at, steps.event_step_id
                           rows between unbounded preceding and current row)          as main_group,
        lead(steps.acted_at) over (partition by steps.event_id order by steps.acted_at, steps.event_step_id)  as next_acted_at,
        min(steps.acted_at) over (partition by steps.event_id)                                    as first_acted_at
    from steps
),

staged as (
    select
        ordered.*,
        coalesce(max(case when ordered.is_main = 1 then ordered.step end)
                     over (partition by ordered.event_id, ordered.main_group), '发现')                 as stage
    from ordered
),

intervals as (
    -- discovery: reported_at -> first step
    select e.event_id, '发现' as stage, {{ hours_between('e.reported_at', 'f.first_acted_at') }} as hours
    from {{ ref('stg_grid__events') }} as e
    inner join (select distinct event_id, first_acted_at from ordered) as f on f.event_id = e.event_id
    where e.reported_at is not null
    union all
    select event_id, stage, {{ hours_between('acted_at', 'next_acted_at') }}
    from staged
    where next_acted_at is not null
),

stage_hours as (
    select
        event_id
        {%- for stage, col in [('发现', 'discover'), ('上报', 'report'), ('立案', 'register'), ('派遣', 'dispatch'),
                               ('处置', 'handle'), ('反馈', 'feedback'), ('核查', 'verify'), ('结案', 'close')] %},
        cast(sum(case when stage = '{{ stage }}' then hours end) as double precision) as stage_{{ col }}_hours
        {%- endfor %}
    from intervals
    group by event_id
),

counts as (
    select
        event_id,
        count(*)                                                  as step_count,
        max(acted_at)                                             as last_step_at,
        sum(case when step = '退回' then 1 else 0 end)            as return_count,
        sum(case when step = '延期' then 1 else 0 end)            as extension_count,
        min(case when step = '吹哨' then acted_at end)            as first_whistle_at
    from steps
    group by event_id
),

whistle as (
    select c.event_id, min(s.acted_at) as first_report_in_at
    from counts as c
    inner join steps as s on s.event_id = c.event_id and s.step = '报到' and s.acted_at >= c.first_whistle_at
    group by c.event_id
),

current_stage as (
    select event_id, stage as current_stage
    from (
        select event_id, stage,
               row_number() over (partition by event_id order by acted_at desc, event_step_id desc) as rn
        from staged
    ) as x
    where rn = 1
)

select
    c.event_id,
    c.step_count,
    c.last_step_at,
    cs.current_stage,
    sh.stage_discover_hours,
    sh.stage_report_hours,
    sh.stage_register_hours,
    sh.stage_dispatch_hours,
    sh.stage_handle_hours,
    sh.stage_feedback_hours,
    sh.stage_verify_hours,
    sh.stage_close_hours,
    c.return_count,
    c.extension_count,
    c.first_whistle_at,
    w.first_report_in_at,
    case when w.first_report_in_at is not null
         then cast({{ hours_between('c.first_whistle_at', 'w.first_report_in_at') }} as double precision) end  as whistle_response_hours
from counts as c
left join stage_hours as sh on sh.event_id = c.event_id
left join whistle as w on w.event_id = c.event_id
left join current_stage as cs on cs.event_id = c.event_id
