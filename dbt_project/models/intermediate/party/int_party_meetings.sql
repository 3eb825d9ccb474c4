-- One row per Party meeting (三会一课 and other meetings, dj_hy): the organisation that held it, its type,
-- when (with its month and quarter) and the expected and actual attendees (应到 / 实到人数).
select
    m.meeting_id,
    m.org_id,
    m.meeting_type,
    m.held_at,
    cast(date_trunc('month', m.held_at) as date)    as held_month,
    cast(date_trunc('quarter', m.held_at) as date)  as held_quarter,
    m.expected_attendees,
    m.actual_attendees
from {{ ref('stg_party__meetings') }} as m
