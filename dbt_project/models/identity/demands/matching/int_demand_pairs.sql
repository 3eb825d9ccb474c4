{#- Candidate same-incident pairs (int_demand_candidates, kind 'candidate': same estate and building, within
    the window) scored with the Fellegi–Sunter weights learnt from this city's reports
    (int_demand_match_weights): match_weight = prior + the weight of each compared comparison's level
    (category, complaint category, reporter, time apart), match_probability = 1 / (1 + 2^-match_weight).
    Kept when the probability reaches var demand_match_probability (default 0.95, the same a-priori
    certainty resident matching asks for; not tuned). Every kept pair stores its levels, weight and
    probability: a merge is explained by the pair that made it. -#}
{%- set min_probability = var('demand_match_probability', 0.95) %}
with c as (
    select * from {{ ref('int_demand_candidates') }} where kind = 'candidate'
),

w as (
    select * from {{ ref('int_demand_match_weights') }}
),

scored as (
    select
        c.a_id,
        c.b_id,
        c.a_table,
        c.b_table,
        c.hours_apart,
        c.category_level,
        c.complaint_category_level,
        c.reporter_level,
        c.time_level,
        p.match_weight
        + coalesce(wc.match_weight, 0) + coalesce(wk.match_weight, 0)
        + coalesce(wr.match_weight, 0) + coalesce(wt.match_weight, 0) as match_weight
    from c
    cross join (select match_weight from w where comparison = 'prior') as p
    left join w as wc on wc.comparison = 'category' and wc.level = c.category_level
    left join w as wk on wk.comparison = 'complaint_category' and wk.level = c.complaint_category_level
    left join w as wr on wr.comparison = 'reporter' and wr.level = c.reporter_level
    left join w as wt on wt.comparison = 'time' and wt.level = c.time_level
)

select
    *,
    1.0 / (1.0 + power(2.0, -match_weight))             as match_probability
from scored
where match_weight >= ln({{ min_probability }} / (1 - {{ min_probability }})) / ln(2)
