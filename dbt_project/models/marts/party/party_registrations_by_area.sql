-- 在职党员回常住地报到 per community and grid: registrations with status 已报到, distinct members,
-- and cancelled (已注销) registrations. Counts only; no member ids.
with reg as (select * from {{ ref('int_party_registrations_located') }})

select
    cast(reg.community_code as varchar)                                        as community_code,
    cast(reg.community_name as varchar)                                        as community_name,
    cast(reg.grid_code as varchar)                                             as grid_code,
    cast(count(case when reg.status = '已报到' then reg.registration_id end) as integer)        as registrations,
    cast(count(distinct case when reg.status = '已报到' then reg.member_id end) as integer)     as members_registered,
    cast(count(case when reg.status = '已注销' then reg.registration_id end) as integer)        as registrations_cancelled
from reg
group by reg.community_code, reg.community_name, reg.grid_code
