-- Grid events (wg_sj). An event without a category code (lbdm) whose description (sjms) names a category of
-- the city's event_categories reference gets it back: the description, with the event's address taken out,
-- is searched for every reference minor name (小类); the longest name found wins, and a tie between
-- different codes leaves the code NULL (never a guess). When no minor name is found, a major name (大类)
-- found alone gives category_major_name only. category_source says which: stated / description_minor /
-- description_major (NULL: no category).
with latest as (
    {{ latest_version(source('grid', 'wg_sj'), ['sjbh'], cursor='update_time') }}
),

events as (
    select
        {{ clean_text('sjbh') }}                            as event_id,
        {{ clean_text('sjbh') }}                            as source_key,
        {{ clean_text('sjly') }}                            as event_source,
        {{ clean_text('lbdm') }}                            as stated_category_code,
        {{ clean_text('sjms') }}                            as description,
        {{ clean_text('fsdz') }}                            as location_address,
        {{ to_decimal('jd', 10, 6) }}                       as longitude,
        {{ to_decimal('wd', 10, 6) }}                       as latitude,
        {{ clean_text('wgbm') }}                            as grid_code,
        {{ clean_person_name('sbr_xm') }}                   as reporter_name,
        {{ phone_columns('sbr_dh', 'reporter_phone') }},
        {{ normalize_uscc('czbm_uscc') }}                   as handling_dept_uscc,
        {{ clean_text('zt') }}                              as status,
        {{ parse_local_ts('sbsj') }}                        as reported_at,
        {{ parse_local_ts('clsx') }}                        as deadline_at,
        {{ parse_local_ts('jasj') }}                        as closed_at,
        {{ normalize_satisfaction('myd') }}                 as satisfaction,
        {{ parse_local_ts('update_time') }}                 as updated_at,
        _batch_id,
        _loaded_at
    from latest
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
    coalesce(e.stated_category_code, mi.category_code)                   as category_code,
    coalesce(k.major_name, case when mi.category_code is null then ma.major_name end) as category_major_name,
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
    e.reporter_name,
    e.reporter_phone,
    e.reporter_phone_2,
    e.reporter_phone_kind,
    e.handling_dept_uscc,
    e.status,
    e.reported_at,
    e.deadline_at,
    e.closed_at,
    e.satisfaction,
    e.updated_at,
    e._batch_id,
    e._loaded_at
from events as e
left join minor_found as mi on mi.event_id = e.event_id
left join major_found as ma on ma.event_id = e.event_id
left join categories as k on k.category_code = coalesce(e.stated_category_code, mi.category_code)
