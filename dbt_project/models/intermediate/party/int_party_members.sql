-- One row per Party member (党员, dj_dy) without personal data: the organisation the member belongs to and
-- whether the member is in service (在职): a work unit (gzdw) on file and membership status 正常. A retired
-- member (gzdw 退休 / 离休 / 离退休: the party system's entry for "no work unit, retired") is not in service.
select
    m.member_id,
    m.source_key,
    m.org_id,
    coalesce(m.work_unit is not null
             and m.work_unit not in ('退休', '离休', '离退休')
             and m.membership_status = '正常', false) as is_in_service
from {{ ref('stg_party__members') }} as m
