{{ config(materialized='table', schema='identity_int') }}
-- Candidate pairs of reports that may be the same incident, scored.
-- Blocking: same estate and building (the place an incident is described at) and reported
-- within `demand_window_hours` of each other; never two records of the same grid or property
-- table (one incident is one event / one complaint there), tickets may repeat each other.
-- Score: character-bigram Jaccard of the two category names; when one side has no category
-- name (a grid event with an unknown code), the share of the other's category bigrams found
-- in its free text. A property complaint has only a coarse category (维修, 噪音 ...), so a pair
-- with a complaint scores on place and time (complaint_score) inside a shorter window, and only
-- when the seed demand_complaint_categories says its category can describe the other report's.
-- Then the reporters: the same resident (one resident_key, or the same name and phone) adds
-- demand_reporter_weight (0.5); two residents of different names subtract it, which at 0.5 keeps any
-- such pair under the 0.6 threshold (on the simulated city none of 935 such pairs was one incident;
-- a city where neighbours often report one incident separately can lower the weight). A resident
-- split by identity matching keeps one name, so a split never counts as two people.
{%- set window_hours = var('demand_window_hours', 120) %}
{%- set complaint_window_hours = var('demand_complaint_window_hours', 48) %}
with reports as (
    select * from {{ ref('int_demand_reports') }}
    where estate_match_key is not null and building is not null and reported_at is not null
),

bigrams as (
    select * from {{ ref('int_demand_bigrams') }}
),

complaint_categories as (
    select complaint_category, major_code from {{ ref('demand_complaint_categories') }}
),

candidates as (
    select
        a.report_id                                     as a_id,
        b.report_id                                     as b_id,
        a.source_table                                  as a_table,
        b.source_table                                  as b_table,
        abs({{ dbt.datediff('a.reported_at', 'b.reported_at', 'minute') }}) / 60.0 as hours_apart,
        case when a.reporter_key = b.reporter_key
                  or (a.reporter_name_key = b.reporter_name_key and a.reporter_phone_hmac = b.reporter_phone_hmac)
                 then 1
             when a.reporter_key <> b.reporter_key and a.reporter_name_key <> b.reporter_name_key then -1
             else 0 end                                 as same_reporter,
        -- a complaint and the other report: may the complaint's coarse category describe it?
        case when a.source_table = 'complaints' or b.source_table = 'complaints' then
            case when coalesce(a.complaint_category, b.complaint_category) is null then true
                 when coalesce(a.cat_major, b.cat_major) is null then true
                 else exists (
                     select 1 from complaint_categories as k
                     where k.complaint_category = coalesce(a.complaint_category, b.complaint_category)
                       and k.major_code in ('*', coalesce(a.cat_major, b.cat_major)))
            end
        end                                             as complaint_fits
    from reports as a
    inner join reports as b
        on b.estate_match_key = a.estate_match_key
       and b.building = a.building
       and a.report_id < b.report_id
    where (a.source_table <> b.source_table or a.source_table = 'tickets')
      and abs({{ dbt.datediff('a.reported_at', 'b.reported_at', 'minute') }}) <= {{ window_hours }} * 60
),

n_grams as (
    select report_id, field, count(*) as n from bigrams group by report_id, field
),

-- shared bigrams: category vs category, a's category in b's free text, b's category in a's
shared as (
    select c.a_id, c.b_id, 'cc' as kind, count(*) as inter
    from candidates as c
    inner join bigrams as x on x.report_id = c.a_id and x.field = 'cat'
    inner join bigrams as y on y.report_id = c.b_id and y.field = 'cat' and y.gram = x.gram
    group by c.a_id, c.b_id
    union all
    select c.a_id, c.b_id, 'cf', count(*)
    from candidates as c
    inner join bigrams as x on x.report_id = c.a_id and x.field = 'cat'
    inner join bigrams as y on y.report_id = c.b_id and y.field = 'free' and y.gram = x.gram
    group by c.a_id, c.b_id
    union all
    select c.a_id, c.b_id, 'fc', count(*)
    from candidates as c
    inner join bigrams as x on x.report_id = c.a_id and x.field = 'free'
    inner join bigrams as y on y.report_id = c.b_id and y.field = 'cat' and y.gram = x.gram
    group by c.a_id, c.b_id
),

scored as (
    select
        c.*,
        -- double precision on both engines (PostgreSQL would otherwise carry numeric(…, 20))
        cast(case
            when c.a_table = 'complaints' or c.b_table = 'complaints' then
                case when c.hours_apart <= {{ complaint_window_hours }} and c.complaint_fits
                     then {{ var('demand_complaint_score', 0.7) }} else 0 end
            when na.n is not null and nb.n is not null then
                coalesce(cc.inter, 0) * 1.0 / (na.n + nb.n - coalesce(cc.inter, 0))
            when na.n is not null then coalesce(cf.inter, 0) * 1.0 / na.n
            when nb.n is not null then coalesce(fc.inter, 0) * 1.0 / nb.n
            else 0
        end
        + c.same_reporter * {{ var('demand_reporter_weight', 0.5) }} as double precision) as score
    from candidates as c
    left join n_grams as na on na.report_id = c.a_id and na.field = 'cat'
    left join n_grams as nb on nb.report_id = c.b_id and nb.field = 'cat'
    left join shared as cc on cc.a_id = c.a_id and cc.b_id = c.b_id and cc.kind = 'cc'
    left join shared as cf on cf.a_id = c.a_id and cf.b_id = c.b_id and cf.kind = 'cf'
    left join shared as fc on fc.a_id = c.a_id and fc.b_id = c.b_id and fc.kind = 'fc'
)

select * from scored
where score >= {{ var('demand_min_score', 0.6) }}
