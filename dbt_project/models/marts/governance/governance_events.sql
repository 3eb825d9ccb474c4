-- Closed-loop grid events (网格事件闭环), one row per event (wg_sj, with its category and handling department
-- as int_grid_events_categorised resolves and names them), with stage times from the workflow
-- (wg_sjlz, see int_grid_event_stages) and the on-time status against 限时办结 (clsx) as of the as-of date.
-- Place: the grid the identity layer resolves the event to (identity.grid_xref: a stated code that exists,
-- else its coordinates, else its address), with community and street from identity.dim_grid (the community
-- alone when that is all the evidence gives). The stated code (wgbm) is kept as stated_grid_code for audit
-- only: a missing or unknown code no longer drops the event from its grid. An event the identity layer
-- cannot place has placement 'unplaced' and NULL place columns.
with as_of as (
    select as_of_date, snapshot_at from {{ ref('int_as_of_date') }}
),

events as (
    select
        e.*,
        case when e.closed_at < a.snapshot_at then e.closed_at end  as closed_as_of,
        a.snapshot_at
    from {{ ref('int_grid_events_categorised') }} as e
    cross join as_of as a
    where e.reported_at < a.snapshot_at
),

places as (
    select x.source_key, x.grid_code, x.community_code, x.resolution_level, x.evidence
    from {{ ref('grid_xref') }} as x
    where x.source_system = 'grid' and x.source_table = 'wg_sj'
),

classified as (
    select
        ev.*,
        {{ grid_event_on_time_status('ev.closed_as_of', 'ev.deadline_at', 'ev.snapshot_at') }} as on_time_status
    from events as ev
)

select
    cast(e.event_id as varchar)                                         as event_id,
    cast(e.event_source as varchar)                                     as event_source,
    cast(e.category_code as varchar)                                    as category_code,
    -- the major category of the code (not a major name found alone in the description)
    cast(case when e.category_code is not null then e.category_major_name end as varchar) as category_major_name,
    cast(e.category_minor_name as varchar)                              as category_minor_name,
    cast(p.grid_code as varchar)                                        as grid_code,
    cast(g.grid_name as varchar)                                        as grid_name,
    cast(coalesce(g.community_code, c.community_code) as varchar)       as community_code,
    cast(coalesce(g.community_name, c.community_name) as varchar)       as community_name,
    cast(substr(coalesce(g.street_code, c.street_code), 1, 9) as varchar) as street_code,
    cast(coalesce(g.street_name, c.street_name) as varchar)             as street_name,
    cast(case when p.grid_code is not null then 'grid'
              when p.community_code is not null then 'community'
              else 'unplaced' end as varchar)                           as placement,
    cast(case when p.grid_code is not null or p.community_code is not null then p.evidence end
         as varchar)                                                    as place_evidence,
    cast(e.grid_code as varchar)                                        as stated_grid_code,
    cast(e.handling_dept_uscc as varchar)                               as department_uscc,
    cast(e.handling_dept_name as varchar)                               as department_name,
    cast(e.status as varchar)                                           as status,
    cast(st.current_stage as varchar)                                   as current_stage,
    cast(e.reported_at as timestamp)                                    as reported_at,
    cast(e.reported_at as date)                                         as reported_on,
    {{ month_start('e.reported_at') }}                                  as reported_month,
    cast(e.deadline_at as timestamp)                                    as deadline_at,
    cast(e.closed_as_of as timestamp)                                   as closed_at,
    cast(e.closed_as_of is not null as boolean)                         as is_closed,
    cast(e.on_time_status as varchar)                                   as on_time_status,
    cast(case when e.on_time_status = 'overdue'
              then {{ hours_between('e.deadline_at', 'coalesce(e.closed_as_of, e.snapshot_at)') }} end
         as double precision)                                           as overdue_hours,
    cast(case when e.closed_as_of is not null
              then {{ hours_between('e.reported_at', 'e.closed_as_of') }} end as double precision) as hours_to_close,
    cast(st.stage_discover_hours as double precision)                   as stage_discover_hours,
    cast(st.stage_report_hours as double precision)                     as stage_report_hours,
    cast(st.stage_register_hours as double precision)                   as stage_register_hours,
    cast(st.stage_dispatch_hours as double precision)                   as stage_dispatch_hours,
    cast(st.stage_handle_hours as double precision)                     as stage_handle_hours,
    cast(st.stage_feedback_hours as double precision)                   as stage_feedback_hours,
    cast(st.stage_verify_hours as double precision)                     as stage_verify_hours,
    cast(st.stage_close_hours as double precision)                      as stage_close_hours,
    cast(coalesce(st.step_count, 0) as integer)                         as step_count,
    cast(coalesce(st.return_count, 0) as integer)                       as return_count,
    cast(coalesce(st.extension_count, 0) as integer)                    as extension_count,
    cast(st.first_whistle_at is not null as boolean)                    as has_whistle,
    cast(st.whistle_response_hours as double precision)                 as whistle_response_hours,
    cast(e.satisfaction as varchar)                                     as satisfaction,
    cast(coalesce(e.satisfaction = '满意', false) as boolean)           as is_satisfied,
    cast(coalesce(e.on_time_status = 'on_time' and e.satisfaction = '满意', false) as boolean) as is_closed_on_time_satisfied
from classified as e
left join {{ ref('int_grid_event_stages') }} as st on st.event_id = e.event_id
left join places as p on p.source_key = e.source_key
left join {{ ref('dim_grid') }} as g on g.grid_code = p.grid_code
left join {{ ref('int_communities') }} as c on c.community_code = p.community_code and p.grid_code is null
