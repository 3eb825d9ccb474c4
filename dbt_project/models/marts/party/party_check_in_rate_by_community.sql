-- 在职党员回常住地报到率 per home community: of the in-service Party members living in a community (a work unit
-- (gzdw) on file and status 正常: int_party_members.is_in_service), the share who checked in there (a dj_bd
-- registration with status 已报到 whose community is that home community).
-- Home community, through the identity layer: the community identity.grid_xref gives the member's home address
-- (dj_dy.jtzz); when the address places nowhere, the community of the member's latest registration (the
-- residence the member declared, int_party_registrations_located, also via grid_xref).
-- One row per community of the city (int_communities; 0 members -> rate NULL) plus one row with community_code
-- NULL for the in-service members whose home community is unknown (always present, possibly 0).
-- check_in_rate = members_checked_in / in_service_members, NULL when there are none. Counts only, no member ids.
with in_service as (
    select m.member_id, m.source_key
    from {{ ref('int_party_members') }} as m
    where m.is_in_service
),

registrations as (
    select r.registration_id, r.member_id, r.status, r.registered_on, r.community_code
    from {{ ref('int_party_registrations_located') }} as r
),

home_by_address as (
    select x.source_key, x.community_code
    from {{ ref('grid_xref') }} as x
    where x.source_system = 'party' and x.source_table = 'dj_dy' and x.community_code is not null
),

declared as (
    select
        r.member_id, r.community_code,
        row_number() over (partition by r.member_id
                           order by r.registered_on desc nulls last, r.registration_id desc) as rn
    from registrations as r
    where r.community_code is not null
),

homes as (
    select m.member_id, coalesce(a.community_code, d.community_code) as home_community_code
    from in_service as m
    left join home_by_address as a on a.source_key = m.source_key
    left join declared as d on d.member_id = m.member_id and d.rn = 1
),

checked_in_at_home as (
    select distinct h.member_id
    from homes as h
    inner join registrations as r
        on r.member_id = h.member_id and r.status = '已报到' and r.community_code = h.home_community_code
),

per_home as (
    select
        h.home_community_code,
        count(*)            as in_service_members,
        count(c.member_id)  as members_checked_in
    from homes as h
    left join checked_in_at_home as c on c.member_id = h.member_id
    group by h.home_community_code
),

areas as (
    select c.community_code, c.community_name, c.street_code from {{ ref('int_communities') }} as c
    union all
    select cast(null as varchar), cast(null as varchar), cast(null as varchar)
)

select
    cast(coalesce(a.community_code, 'unknown') as varchar)              as home_area,
    cast(a.community_code as varchar)                                   as community_code,
    cast(a.community_name as varchar)                                   as community_name,
    cast(a.street_code as varchar)                                      as street_code,
    cast(coalesce(p.in_service_members, 0) as integer)                  as in_service_members,
    cast(coalesce(p.members_checked_in, 0) as integer)                  as members_checked_in,
    cast(p.members_checked_in as double precision) / nullif(p.in_service_members, 0) as check_in_rate
from areas as a
left join per_home as p on coalesce(p.home_community_code, '') = coalesce(a.community_code, '')
