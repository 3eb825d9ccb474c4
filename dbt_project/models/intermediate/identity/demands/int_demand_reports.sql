{{ config(materialized='table', schema='identity_int') }}
-- Every channel record that may report a demand (an incident): grid events, 12345 tickets,
-- property complaints. Per record: when, where (estate + building, grid), the category as a
-- name (cat_text) and the free text with the place description taken out (free_text).
with places as (
    select * from {{ ref('int_place_addresses_parsed') }}
),

xref as (
    select * from {{ ref('int_grid_resolved') }}
),

categories as (
    select category_code, minor_name from {{ ref('stg_reference__event_categories') }}
),

events as (
    select
        'grid' as source_system, 'wg_sj' as source_table, e.source_key,
        e.reported_at                                   as reported_at,
        c.minor_name                                    as cat_text,
        replace(coalesce(e.description, ''), coalesce(e.location_address, ''), ' ') as free_text,
        cast(null as varchar)                           as repeats_key
    from {{ ref('stg_grid__events') }} as e
    left join categories as c on c.category_code = e.category_code
),

tickets as (
    select
        'hotline', 'tickets', t.source_key,
        t.received_at,
        t.request_category,
        replace(coalesce(t.content, ''), coalesce(t.address, ''), ' '),
        t.repeats_ticket_id
    from {{ ref('stg_hotline__tickets') }} as t
),

complaints as (
    select
        'property', 'complaints', p.source_key,
        p.accepted_at,
        p.category,
        coalesce(p.category, ''),
        cast(null as varchar)
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
    case when r.repeats_key is not null then r.source_table || '|' || r.repeats_key end as repeats_report_id
from reports as r
left join places as pl
    on pl.source_system = r.source_system and pl.source_table = r.source_table and pl.source_key = r.source_key
left join xref as x
    on x.source_system = r.source_system and x.source_table = r.source_table and x.source_key = r.source_key
where r.source_key is not null
