-- City-wide property complaints per year: every distinct complaint landed (the property records of
-- int_demand_records, dated by 受理时间; also those whose estate is not in any estate file), households of
-- all reported estates as delivered for that year (the estates file valid at the year's end or the as-of
-- date, int_estates_complaints_counted), rate per 100 households, YoY change. Complaints accepted after the as-of date (var as_of) are left out.
with complaints as (
    select
        cast(extract(year from c.reported_at) as integer) as year,
        count(distinct c.source_key)                      as complaints
    from {{ ref('int_demand_records') }} as c
    where c.source_system = 'property'
      and c.reported_at is not null
      and {{ known_as_of('c.reported_at') }}
    group by cast(extract(year from c.reported_at) as integer)
),

matched as (
    select m.year, sum(m.complaints) as complaints_matched, sum(m.households) as households
    from {{ ref('int_estates_complaints_counted') }} as m
    group by m.year
),

rated as (
    select
        c.year,
        c.complaints,
        coalesce(m.complaints_matched, 0) as complaints_matched,
        m.households,
        {{ rate('c.complaints', 'm.households', per='100.0') }} as rate
    from complaints as c
    left join matched as m on m.year = c.year
),

with_prior as (
    select r.*, lag(r.year) over (order by r.year) as prior_year, lag(r.rate) over (order by r.year) as prior_rate
    from rated as r
)

select
    cast(year as integer)                                   as year,
    cast(complaints as integer)                             as complaints,
    cast(complaints - complaints_matched as integer)        as complaints_unmatched_estate,
    cast(households as integer)                             as households,
    cast(rate as double precision)                          as complaints_per_100_households,
    cast(case when prior_year = year - 1 and prior_rate > 0 then (rate - prior_rate) / prior_rate end
         as double precision)                               as yoy_change
from with_prior
