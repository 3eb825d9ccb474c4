-- Every channel record that may report a demand (an incident): grid events (their category as
-- int_grid_events_categorised resolves it), 12345 tickets, property complaints. Per record: when, where
-- (estate + building, grid), the category as a name (cat_text) and major code (cat_major; a complaint has
-- only its coarse complaint_category), the free text with the place description taken out (free_text), and
-- who reported it (reporter_key: the resident_key of the caller / complainant / resident reporter, when
-- known, with the reporter's pseudonymised name key and phone).
with places as (
    select * from {{ ref('int_place_addresses_parsed') }}
),

xref as (
    select * from {{ ref('int_grid_resolved') }}
),

categories as (
    select category_code, minor_name from {{ ref('stg_reference__event_categories') }}
),

ticket_categories as (
    -- a ticket names its category (minor name); one code per name
    select minor_name, min(category_code) as category_code from categories group by minor_name
),

reporters as (
    select x.source_system, x.source_table, x.source_key, x.resident_key,
           p.name_key as reporter_name_key, p.phone_hmac as reporter_phone_hmac
    from {{ ref('resident_xref') }} as x
    inner join {{ ref('int_residents_records_prepared') }} as p
        on p.source_system = x.source_system and p.source_table = x.source_table and p.source_key = x.source_key
    where x.source_table in ('wg_sj', 'tickets', 'complaints')
),

events as (
    select
        'grid' as source_system, 'wg_sj' as source_table, e.source_key,
        e.reported_at,
        c.minor_name                                    as cat_text,
        replace(coalesce(e.description, ''), coalesce(e.location_address, ''), ' ') as free_text,
        cast(null as varchar)                           as repeats_key,
        substr(c.category_code, 1, 2)                   as cat_major,
        cast(null as varchar)                           as complaint_category
    from {{ ref('int_grid_events_categorised') }} as e
    left join categories as c on c.category_code = e.category_code
),

tickets as (
    select
        'hotline', 'tickets', t.source_key,
        t.received_at,
        t.request_category,
        replace(coalesce(t.content, ''), coalesce(t.address, ''), ' '),
        t.repeats_ticket_id,
        substr(c.category_code, 1, 2),
        cast(null as varchar)
    from {{ ref('stg_hotline__tickets') }} as t
    left join ticket_categories as c on c.minor_name = t.request_category
),

complaints as (
    select
        'property', 'complaints', p.source_key,
        p.accepted_at,
        p.category,
        coalesce(p.category, ''),
        cast(null as varchar),
        cast(null as varchar),
        p.category
    from {{ ref('stg_property__complaints') }} as p
),

reports as (
    select * from events
    union all
    select * from tickets
    union all
    select * from complaints
)

select
    r.source_table || '|' || r.source_key               as report_id,
    r.source_system,
    r.source_table,
    r.source_key,
    r.reported_at,
    pl.estate_match_key,
    pl.building,
    x.grid_code,
    x.community_code,
    r.cat_text,
    r.free_text,
    case when r.repeats_key is not null then r.source_table || '|' || r.repeats_key end as repeats_report_id,
    r.cat_major,
    r.complaint_category,
    rp.resident_key                                     as reporter_key,
    rp.reporter_name_key,
    rp.reporter_phone_hmac
from reports as r
left join reporters as rp
    on rp.source_system = r.source_system and rp.source_table = r.source_table and rp.source_key = r.source_key
left join places as pl
    on pl.source_system = r.source_system and pl.source_table = r.source_table and pl.source_key = r.source_key
left join xref as x
    on x.source_system = r.source_system and x.source_table = r.source_table and x.source_key = r.source_key
where r.source_key is not null
