-- One row per grid event (stg_grid__events) with its category resolved and the reference names of its
-- category and handling department. No reporter name or phone (those stay in staging).
-- Category: the stated code (lbdm) when there is one, even one unknown to the reference. An event without
-- a code whose description (sjms) names a category of the city's event_categories reference gets it back:
-- the description, with the event's address taken out, is searched for every reference minor name (小类);
-- the longest name found wins, and a tie between different codes leaves the code NULL (never a guess).
-- When no minor name is found, a major name (大类) found alone gives category_major_name only.
-- category_source says which: stated / description_minor / description_major (NULL: no category).
with events as (
    select * from {{ ref('stg_grid__events') }}
),

categories as (
    select c.category_code, c.major_name, c.minor_name from {{ ref('stg_reference__event_categories') }} as c
),

-- the description of an event without a code, its address taken out
texts as (
    select
        e.event_id,
        case when e.location_address is null then e.description
             else replace(e.description, e.location_address, ' ') end as category_text
    from events as e
    where e.stated_category_code is null and e.description is not null
),

minor_hits as (
    select t.event_id, c.category_code, length(c.minor_name) as name_length,
           max(length(c.minor_name)) over (partition by t.event_id) as longest
    from texts as t
    inner join categories as c on c.minor_name is not null and strpos(t.category_text, c.minor_name) > 0
),

minor_found as (
    select h.event_id, min(h.category_code) as category_code
    from minor_hits as h
    where h.name_length = h.longest
    group by h.event_id
    having count(distinct h.category_code) = 1
),

major_found as (
    select t.event_id, min(m.major_name) as major_name
    from texts as t
    inner join (select distinct major_name from categories where major_name is not null) as m
        on strpos(t.category_text, m.major_name) > 0
    group by t.event_id
    having count(distinct m.major_name) = 1
)

select
    e.event_id,
    e.source_key,
    e.event_source,
    e.stated_category_code,
    coalesce(e.stated_category_code, mi.category_code)                   as category_code,
    coalesce(k.major_name, case when mi.category_code is null then ma.major_name end) as category_major_name,
    k.minor_name                                                         as category_minor_name,
    case
        when e.stated_category_code is not null then 'stated'
        when mi.category_code is not null then 'description_minor'
        when ma.major_name is not null then 'description_major'
    end                                                                  as category_source,
    e.description,
    e.location_address,
    e.longitude,
    e.latitude,
    e.grid_code,
    e.handling_dept_uscc,
    d.department_uscc is not null                                        as is_handling_dept_known,
    d.department_name                                                    as handling_dept_name,
    e.status,
    e.reported_at,
    e.deadline_at,
    e.closed_at,
    e.satisfaction,
    e.updated_at
from events as e
left join minor_found as mi on mi.event_id = e.event_id
left join major_found as ma on ma.event_id = e.event_id
left join categories as k on k.category_code = coalesce(e.stated_category_code, mi.category_code)
left join {{ ref('stg_reference__departments') }} as d on d.department_uscc = e.handling_dept_uscc
