{#- Fellegi–Sunter weights of the demand comparisons (int_demand_candidates), learnt from this city's own
    reports on every build; nothing here is a number fitted to a simulator.

    u (the probability that a level occurs between two reports of different incidents) is counted on the
    pairs the blocking itself says are different incidents: category, complaint category and reporter on
    two reports at the same building further apart than the window ('chance_place'), the time bins on two
    reports at the same estate but different buildings within the window ('chance_time').
    Laplace-smoothed: (pairs at the level + 1) / (pairs compared + levels).

    m (the probability of a level between two reports of one incident) and the prior (the share of the
    candidate pairs that are one incident) are estimated by expectation maximisation over the candidate
    pairs with u held fixed, as Fellegi–Sunter tools (Splink) do: no labelled pairs are needed (the prior
    Laplace-smoothed too: (expected matches + 1) / (candidate pairs + 2)). The EM
    runs on the counts of each comparison pattern, from the textbook start (the strongest level of a
    comparison 0.9, the others sharing 0.1; prior 0.1) for var demand_em_iterations rounds (default 40;
    em_change, the largest change of any m or the prior in the last round, shows it converged). Levels
    not compared (NULL) count neither way. Every m and the prior are rounded to 12 decimals after each
    round, so a rebuild on the same reports gives the same weights whatever order the engine sums in.

    match_weight = log2(m / u) per level; the prior row holds log2(prior / (1 - prior)). -#}
{%- set iterations = var('demand_em_iterations', 40) %}
{%- set comparisons = {
    'category': ['same', 'partial', 'differs'],
    'complaint_category': ['fits', 'differs'],
    'reporter': ['same', 'different'],
    'time': ['h6', 'h24', 'h48', 'window'],
} %}
with c as (
    select * from {{ ref('int_demand_candidates') }}
),

levels as (
    {%- for comparison, lv in comparisons.items() %}
    {%- set outer = loop %}
    {%- for level in lv %}
    select '{{ comparison }}' as comparison, '{{ level }}' as level, {{ loop.index0 }} as rank_in,
           {{ lv | length }} as n_levels
    {%- if not (outer.last and loop.last) %}
    union all
    {%- endif %}
    {%- endfor %}
    {%- endfor %}
),

-- chance agreement, from pairs the blocking says are two incidents
chance as (
    select 'category' as comparison, category_level as level from c where kind = 'chance_place'
    union all
    select 'complaint_category', complaint_category_level from c where kind = 'chance_place'
    union all
    select 'reporter', reporter_level from c where kind = 'chance_place'
    union all
    select 'time', time_level from c where kind = 'chance_time'
),

u_counts as (
    select l.comparison, l.level, l.rank_in, l.n_levels,
           count(ch.level) as u_pairs,
           sum(count(ch.level)) over (partition by l.comparison) as u_compared
    from levels as l
    left join chance as ch on ch.comparison = l.comparison and ch.level = l.level
    group by l.comparison, l.level, l.rank_in, l.n_levels
),

u as (
    select comparison, level, rank_in, n_levels, u_pairs, u_compared,
           (cast(u_pairs as double precision) + 1) / (cast(u_compared as double precision) + n_levels) as u_probability
    from u_counts
),

-- the candidate pairs by comparison pattern: EM works on these counts
patterns as (
    select category_level, complaint_category_level, reporter_level, time_level,
           cast(count(*) as double precision) as n,
           row_number() over (order by category_level, complaint_category_level, reporter_level, time_level) as g
    from c
    where kind = 'candidate'
    group by category_level, complaint_category_level, reporter_level, time_level
),

-- one row per pattern and compared comparison
pattern_levels as (
    {%- for comparison in comparisons %}
    select g, n, '{{ comparison }}' as comparison, {{ comparison }}_level as level
    from patterns where {{ comparison }}_level is not null
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

pattern_u as (
    select pl.g, sum(ln(u.u_probability)) as ln_u
    from pattern_levels as pl
    inner join u on u.comparison = pl.comparison and u.level = pl.level
    group by pl.g
),

total as (
    select coalesce(sum(n), 0) as n from patterns
),

m0 as (
    select comparison, level,
           case when rank_in = 0 then 0.9 else 0.1 / (n_levels - 1) end as m
    from levels
),

prior0 as (
    select cast(0.1 as double precision) as prior
),
{%- for k in range(1, iterations + 1) %}

-- EM round {{ k }}: E (each pattern's probability of being one incident), then M (m and the prior)
post{{ k }} as (
    select pt.g, pt.n,
           1.0 / (1.0 + exp(ln(1 - pr.prior) + coalesce(pu.ln_u, 0) - ln(pr.prior) - coalesce(pm.ln_m, 0))) as p
    from patterns as pt
    cross join prior{{ k - 1 }} as pr
    left join pattern_u as pu on pu.g = pt.g
    left join (
        select pl.g, sum(ln(m.m)) as ln_m
        from pattern_levels as pl
        inner join m{{ k - 1 }} as m on m.comparison = pl.comparison and m.level = pl.level
        group by pl.g
    ) as pm on pm.g = pt.g
),

m{{ k }} as (
    select l.comparison, l.level,
           {{ idn_round12('(coalesce(s.x, 0) + 1) / (coalesce(sum(s.x) over (partition by l.comparison), 0) + l.n_levels)') }} as m
    from levels as l
    left join (
        select pl.comparison, pl.level, sum(pl.n * po.p) as x
        from pattern_levels as pl
        inner join post{{ k }} as po on po.g = pl.g
        group by pl.comparison, pl.level
    ) as s on s.comparison = l.comparison and s.level = l.level
),

prior{{ k }} as (
    select {{ idn_round12('(coalesce((select sum(po.n * po.p) from post' ~ k ~ ' as po), 0) + 1) / (t.n + 2)') }} as prior
    from total as t
),
{%- endfor %}

em_change as (
    select greatest(
        (select max(abs(a.m - b.m)) from m{{ iterations }} as a
         inner join m{{ iterations - 1 }} as b on b.comparison = a.comparison and b.level = a.level),
        (select abs(a.prior - b.prior) from prior{{ iterations }} as a cross join prior{{ iterations - 1 }} as b)
    ) as change
)

select
    u.comparison,
    u.level,
    u.u_pairs,
    u.u_compared,
    u.u_probability,
    m.m                                                 as m_probability,
    ln(m.m / u.u_probability) / ln(2)                   as match_weight,
    (select ec.change from em_change as ec)                      as em_change
from u
inner join m{{ iterations }} as m on m.comparison = u.comparison and m.level = u.level
union all
select
    'prior',
    cast(null as varchar),
    (select cast(t.n as {{ dbt.type_bigint() }}) from total as t),
    cast(null as {{ dbt.type_bigint() }}),
    cast(null as double precision),
    p.prior,
    ln(p.prior / (1 - p.prior)) / ln(2),
    (select ec.change from em_change as ec)
from prior{{ iterations }} as p
