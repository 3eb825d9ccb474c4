-- One row per demand: first and last report time, the channels it came through, how many
-- records, where (grid, community, estate) and its category name.
with members as (
    select r.*, c.demand_key, c.first_report_id
    from {{ ref('int_demand_reports') }} as r
    inner join {{ ref('int_demand_clusters') }} as c on c.report_id = r.report_id
),

category as (
    select demand_key, cat_text from (
        select demand_key, cat_text,
               row_number() over (partition by demand_key
                                  order by case source_table when 'tickets' then 0 when 'wg_sj' then 1 else 2 end,
                                           reported_at) as rn
        from members where cat_text is not null
    ) as c where rn = 1
),

grid as (
    select demand_key, grid_code, community_code from (
        select demand_key, grid_code, community_code,
               row_number() over (partition by demand_key
                                  order by case when grid_code is null then 1 else 0 end,
                                           case source_table when 'wg_sj' then 0 when 'tickets' then 1 else 2 end,
                                           reported_at) as rn
        from members
    ) as g where rn = 1
)

select
    m.demand_key,
    min(m.reported_at)                                  as first_reported_at,
    max(m.reported_at)                                  as last_reported_at,
    count(*)                                            as n_records,
    sum(case when m.source_table = 'wg_sj' then 1 else 0 end)      as n_grid_events,
    sum(case when m.source_table = 'tickets' then 1 else 0 end)    as n_hotline_tickets,
    sum(case when m.source_table = 'complaints' then 1 else 0 end) as n_property_complaints,
    max(g.grid_code)                                    as grid_code,
    max(g.community_code)                               as community_code,
    max(e.estate_key)                                   as estate_key,
    max(c.cat_text)                                     as category_name
from members as m
left join grid as g on g.demand_key = m.demand_key
left join category as c on c.demand_key = m.demand_key
left join {{ ref('int_estates') }} as e on e.estate_match_key = m.estate_match_key
group by m.demand_key
