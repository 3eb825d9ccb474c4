-- Volunteer service (dj_fwjl) per member, organisation and month: records, hours, points. The member
-- appears only as a keyed pseudonym (HMAC-SHA256 of the member id, key YIWANG_HMAC_KEY).
with records as (
    select
        s.service_record_id,
        s.member_id,
        s.org_id,
        cast(date_trunc('month', s.served_on) as date) as service_month,
        s.service_hours,
        s.points
    from {{ ref('int_party_service_records') }} as s
    where s.served_on is not null
)

select
    cast({{ idn_hmac('r.member_id') }} as varchar)        as member_key,
    cast(r.org_id as varchar)                             as org_id,
    cast(r.service_month as date)                         as service_month,
    cast(count(*) as integer)                             as service_records,
    cast(coalesce(sum(r.service_hours), 0) as numeric(12, 1)) as service_hours,
    cast(coalesce(sum(r.points), 0) as integer)           as points
from records as r
group by r.member_id, r.org_id, r.service_month
