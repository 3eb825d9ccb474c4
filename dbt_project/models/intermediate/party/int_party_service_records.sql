-- One row per volunteer service record (服务记录, dj_fwjl): the member who served, the member's organisation
-- (int_party_members; NULL when the member is not on file), the day, the hours and the points (积分).
select
    s.service_record_id,
    s.member_id,
    m.org_id,
    s.served_on,
    s.service_hours,
    s.points
from {{ ref('stg_party__service_records') }} as s
left join {{ ref('int_party_members') }} as m on m.member_id = s.member_id
