-- 红色物业 per estate and year: complaints per 100 households and its year-over-year change; households and
-- the 党组织 / 业委会 flags as the estates file valid for that year delivered them (int_estates_complaints_counted).
with counted as (
    select * from {{ ref('int_estates_complaints_counted') }}
),

rated as (
    select
        c.*,
        {{ rate('c.complaints', 'c.households', per='100.0') }} as rate
    from counted as c
),

with_prior as (
    select
        r.*,
        lag(r.rate) over (partition by r.estate_key order by r.year) as prior_rate,
        lag(r.year) over (partition by r.estate_key order by r.year) as prior_year
    from rated as r
)

select
    cast(estate_key as varchar)                                         as estate_key,
    cast(estate_name as varchar)                                        as estate_name,
    cast(company as varchar)                                            as company,
    cast(community_text as varchar)                                     as community_text,
    cast(year as integer)                                               as year,
    cast(households as integer)                                         as households,
    cast(complaints as integer)                                         as complaints,
    cast(rate as double precision)                                      as complaints_per_100_households,
    cast(case when prior_year = year - 1 then prior_rate end as double precision) as prior_year_rate,
    cast(case when prior_year = year - 1 and prior_rate > 0 then (rate - prior_rate) / prior_rate end
         as double precision)                                           as yoy_change,
    cast(has_party_org as boolean)                                      as has_party_org,
    cast(has_owners_committee as boolean)                               as has_owners_committee,
    cast(coalesce(has_party_org and has_owners_committee, false) as boolean) as has_joint_mechanism,
    cast(estate_file_month as date)                                     as estate_file_month
from with_prior
