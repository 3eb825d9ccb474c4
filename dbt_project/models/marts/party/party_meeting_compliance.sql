-- 三会一课 compliance per Party branch (org_type ending in 支部) and quarter, by the rule set in the
-- seed party_meeting_rules: a type complies when each of its periods in the quarter (3 months, or the
-- quarter) has at least min_per_period meetings. Attendance = actual / expected attendees (sdrs / ydrs).
with rules as (select * from {{ ref('party_meeting_rules') }}),

branches as (
    select o.org_id, o.org_type from {{ ref('int_party_orgs_located') }} as o
    where o.org_type like '%支部'
),

meetings as (
    select
        m.org_id,
        m.meeting_type,
        m.held_quarter                                  as quarter_start,
        m.held_month                                    as month_start,
        m.expected_attendees,
        m.actual_attendees
    from {{ ref('int_party_meetings') }} as m
    where m.held_at is not null
),

quarters as (select distinct q.quarter_start from meetings as q),

periods as (      -- every (quarter, period) a rule checks: 3 months or the quarter itself
    select q.quarter_start, r.meeting_type, r.period, r.min_per_period, p.n as period_no
    from quarters as q
    cross join rules as r
    cross join (select 0 as n union all select 1 union all select 2) as p
    where r.period = 'month' or p.n = 0
),

held as (
    select
        b.org_id, p.quarter_start, p.meeting_type, p.period_no, p.min_per_period,
        count(mm.org_id) as meetings_held
    from branches as b
    cross join periods as p
    left join meetings as mm
        on mm.org_id = b.org_id and mm.meeting_type = p.meeting_type and mm.quarter_start = p.quarter_start
        and (p.period = 'quarter'
             or extract(month from mm.month_start) - extract(month from p.quarter_start) = p.period_no)
    group by b.org_id, p.quarter_start, p.meeting_type, p.period_no, p.min_per_period
),

per_type as (
    select
        h.org_id, h.quarter_start, h.meeting_type,
        sum(h.meetings_held) as meetings_held,
        min(case when h.meetings_held >= h.min_per_period then 1 else 0 end) as complies
    from held as h
    group by h.org_id, h.quarter_start, h.meeting_type
),

attendance as (
    select a.org_id, a.quarter_start, sum(a.expected_attendees) as expected, sum(a.actual_attendees) as actual
    from meetings as a
    group by a.org_id, a.quarter_start
)

select
    cast(t.org_id as varchar)                                                   as org_id,
    cast(b.org_type as varchar)                                                 as org_type,
    cast(t.quarter_start as date)                                               as quarter_start,
    cast(sum(case when t.meeting_type = '支部党员大会' then t.meetings_held else 0 end) as integer) as general_assemblies,
    cast(sum(case when t.meeting_type = '支部委员会' then t.meetings_held else 0 end) as integer)   as committee_meetings,
    cast(sum(case when t.meeting_type = '党小组会' then t.meetings_held else 0 end) as integer)     as group_meetings,
    cast(sum(case when t.meeting_type = '党课' then t.meetings_held else 0 end) as integer)         as party_lectures,
    cast(max(case when t.meeting_type = '支部党员大会' then t.complies end) = 1 as boolean)          as general_assembly_compliant,
    cast(max(case when t.meeting_type = '支部委员会' then t.complies end) = 1 as boolean)            as committee_compliant,
    cast(max(case when t.meeting_type = '党小组会' then t.complies end) = 1 as boolean)              as group_meeting_compliant,
    cast(max(case when t.meeting_type = '党课' then t.complies end) = 1 as boolean)                  as party_lecture_compliant,
    cast(min(t.complies) = 1 as boolean)                                        as fully_compliant,
    cast(max(a.expected) as integer)                                            as expected_attendees,
    cast(max(a.actual) as integer)                                              as actual_attendees,
    cast({{ rate('max(a.actual)', 'max(a.expected)') }} as double precision) as attendance_rate
from per_type as t
inner join branches as b on b.org_id = t.org_id
left join attendance as a on a.org_id = t.org_id and a.quarter_start = t.quarter_start
group by t.org_id, b.org_type, t.quarter_start
