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

-- each channel record (int_demand_records); a record not yet dispatched counts from when it was reported
records as (
    select r.source_system, r.source_table, r.source_key, r.reported_at,
           coalesce(r.dispatched_at, r.reported_at) as dispatched_at, r.closed_at, r.satisfaction,
           r.handling_dept_name as department_name, c.community_code,
           case when r.is_flagged_repeat then 1 else 0 end as flagged_repeat
    from {{ ref('int_demand_records') }} as r
    left join places as c
        on c.source_system = r.source_system and c.source_table = r.source_table and c.source_key = r.source_key
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
