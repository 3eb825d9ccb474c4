-- Per estate (物业企业报送的小区, key xqmc|company) and calendar year: households and the number of
-- distinct property complaints (tsbh) accepted that year. Every estate gets a row for every year in
-- which any complaint was accepted (0 when it had none), so a quiet estate counts as rate 0, not missing.
-- A complaint is matched to its estate by estate name + company folder (both from the same company's files).
with estates as (
    select
        e.source_key            as estate_key,
        e.estate_name,
        e.company,
        e.community_text,
        e.households,
        e.has_party_org,
        e.has_owners_committee
    from {{ ref('stg_property__estates') }} as e
),

complaints as (
    select
        c.complaint_id,
        c.estate_name,
        c.company,
        cast(extract(year from c.accepted_at) as integer) as complaint_year
    from {{ ref('stg_property__complaints') }} as c
    where c.accepted_at is not null
),

years as (
    select distinct y.complaint_year from complaints as y
),

counted as (
    select k.estate_name, k.company, k.complaint_year, count(distinct k.complaint_id) as complaints
    from complaints as k
    group by k.estate_name, k.company, k.complaint_year
)

select
    e.estate_key,
    e.estate_name,
    e.company,
    e.community_text,
    e.households,
    e.has_party_org,
    e.has_owners_committee,
    y.complaint_year                as year,
    coalesce(n.complaints, 0)       as complaints
from estates as e
cross join years as y
left join counted as n
    on n.estate_name = e.estate_name and n.company = e.company and n.complaint_year = y.complaint_year
