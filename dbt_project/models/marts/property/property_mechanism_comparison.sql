-- Estates with vs without the joint mechanism (党组织 + 业委会 + 物业) per year: mean of the estates'
-- rates, pooled rate (sum complaints / sum households x 100), and their year-over-year change.
-- Estates with unknown or zero households are left out of both (their rate is NULL).
with estates as (
    select * from {{ ref('property_estate_yearly') }}
    where complaints_per_100_households is not null
),

grouped as (
    select
        e.year,
        count(case when e.has_joint_mechanism then 1 end)                              as estates_with,
        count(case when not e.has_joint_mechanism then 1 end)                          as estates_without,
        {{ exact_avg('case when e.has_joint_mechanism then e.complaints_per_100_households end') }} as mean_rate_with,
        {{ exact_avg('case when not e.has_joint_mechanism then e.complaints_per_100_households end') }} as mean_rate_without,
        sum(case when e.has_joint_mechanism then e.complaints else 0 end)               as complaints_with,
        sum(case when not e.has_joint_mechanism then e.complaints else 0 end)           as complaints_without,
        sum(case when e.has_joint_mechanism then e.households else 0 end)               as households_with,
        sum(case when not e.has_joint_mechanism then e.households else 0 end)           as households_without
    from estates as e
    group by e.year
),

rates as (
    select
        g.*,
        {{ rate('g.complaints_with', 'g.households_with', per='100.0') }}       as pooled_rate_with,
        {{ rate('g.complaints_without', 'g.households_without', per='100.0') }} as pooled_rate_without
    from grouped as g
),

with_prior as (
    select
        r.*,
        lag(r.year) over (order by r.year)                as prior_year,
        lag(r.pooled_rate_with) over (order by r.year)    as prior_pooled_with,
        lag(r.pooled_rate_without) over (order by r.year) as prior_pooled_without
    from rates as r
)

select
    cast(year as integer)                                   as year,
    cast(estates_with as integer)                           as estates_with,
    cast(estates_without as integer)                        as estates_without,
    cast(mean_rate_with as double precision)                as mean_rate_with,
    cast(mean_rate_without as double precision)             as mean_rate_without,
    cast(mean_rate_with - mean_rate_without as double precision) as mean_rate_difference,
    cast(complaints_with as integer)                        as complaints_with,
    cast(complaints_without as integer)                     as complaints_without,
    cast(households_with as integer)                        as households_with,
    cast(households_without as integer)                     as households_without,
    cast(pooled_rate_with as double precision)              as pooled_rate_with,
    cast(pooled_rate_without as double precision)           as pooled_rate_without,
    cast(pooled_rate_with - pooled_rate_without as double precision) as pooled_rate_difference,
    cast(case when prior_year = year - 1 and prior_pooled_with > 0
              then (pooled_rate_with - prior_pooled_with) / prior_pooled_with end as double precision)       as yoy_change_with,
    cast(case when prior_year = year - 1 and prior_pooled_without > 0
              then (pooled_rate_without - prior_pooled_without) / prior_pooled_without end as double precision) as yoy_change_without
from with_prior
