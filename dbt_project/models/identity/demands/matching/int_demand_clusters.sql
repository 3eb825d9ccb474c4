-- Reports grouped into demands. Edges: each report's best-scoring candidate in every other
-- channel (ties: nearest in time), kept when both ends chose each other (var demand_mutual_best;
-- false: when either end chose it), plus a ticket's stated repeat (cfgd). Demands are the
-- connected components, found by min-label propagation (unrolled; components are a handful of
-- reports). demand_key = opaque hash of the first
-- (smallest) report id in the component. Per report, the link that explains it: its strongest chosen
-- pair (the other report, the pair's match probability) or else the repeat it states (cfgd).
{%- set iterations = 8 %}
with reports as (
    select report_id from {{ ref('int_demand_reports') }}
),

pairs as (
    select * from {{ ref('int_demand_pairs') }}
),

directed as (
    select a_id as u, b_id as v, b_table as v_table, match_weight, hours_apart from pairs
    union all
    select b_id, a_id, a_table, match_weight, hours_apart from pairs
),

best as (
    select u, v, match_weight from (
        select u, v, match_weight,
               row_number() over (partition by u, v_table order by match_weight desc, hours_apart asc, v asc) as rn
        from directed
    ) as r
    where rn = 1
),

repeats as (
    select r.report_id as u, r.repeats_report_id as v
    from {{ ref('int_demand_reports') }} as r
    inner join reports as t on t.report_id = r.repeats_report_id
),

{% if var('demand_mutual_best', true) %}
-- an edge only when each end is the other's best in its channel (a one-sided choice is how a
-- reporter-less grid event at a busy building picks up a neighbour's complaint)
chosen as (
    select b.u, b.v, b.match_weight from best as b inner join best as r on r.u = b.v and r.v = b.u
),
{%- else %}
chosen as (
    select u, v, match_weight from best
),
{%- endif %}

edges as (
    select u, v from chosen
    union
    select v, u from chosen
    union
    select u, v from repeats
    union
    select v, u from repeats
),

l0 as (
    select report_id, report_id as label from reports
),
{%- for k in range(1, iterations + 1) %}

l{{ k }} as (
    select n.report_id, least(n.label, coalesce(min(m.label), n.label)) as label
    from l{{ k - 1 }} as n
    left join edges as e on e.u = n.report_id
    left join l{{ k - 1 }} as m on m.report_id = e.v
    group by n.report_id, n.label
),
{%- endfor %}

-- the strongest link of each report (either end of a chosen pair; then a stated repeat, either way)
links as (
    select u as report_id, v as linked_report_id, 'probabilistic' as link_rule, match_weight from chosen
    union all
    select v, u, 'probabilistic', match_weight from chosen
    union all
    select u, v, 'stated_repeat', cast(null as double precision) from repeats
    union all
    select v, u, 'stated_repeat', cast(null as double precision) from repeats
),

best_link as (
    select report_id, linked_report_id, link_rule, match_weight from (
        select l.*,
               row_number() over (partition by l.report_id
                                  order by case when l.link_rule = 'probabilistic' then 0 else 1 end,
                                           l.match_weight desc, l.linked_report_id asc) as rn
        from links as l
    ) as r
    where rn = 1
)

select
    n.report_id,
    n.label                                             as first_report_id,
    {{ opaque_key('D', 'n.label') }}                    as demand_key,
    b.linked_report_id,
    b.link_rule,
    b.match_weight,
    case when b.match_weight is not null
         then 1.0 / (1.0 + power(2.0, -b.match_weight)) end as match_probability
from l{{ iterations }} as n
left join best_link as b on b.report_id = n.report_id
