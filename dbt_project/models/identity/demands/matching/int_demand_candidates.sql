{#- Pairs of reports (grid event, 12345 ticket, property complaint) with their comparison levels, for the
    Fellegi–Sunter demand matching (int_demand_match_weights learns m / u from them, int_demand_pairs
    scores the candidates).

    kind = 'candidate': the blocking: same estate and building (the place an incident is described at),
    reported within var demand_window_hours of each other; never two records of the same grid or
    property table (one incident is one event / one complaint there), tickets may repeat each other.
    kind = 'chance_place': the same estate + building, reported further apart than the window (two
    incidents, by the blocking's own rule): how often category and reporter agree by chance at one place.
    kind = 'chance_time': the same community (by the identity layer's placement), another estate or
    building, within the window (two incidents: one incident is at one building): how often two
    unrelated reports fall into each time bin.
    The chance pairs (they only count how often levels agree by chance) are a deterministic sample when a
    kind has more than var demand_chance_max_pairs (default 1,000,000, Splink's max_pairs for u): the
    pairs whose first report's hash_unit is below the budget over the kind's pairs, as Splink samples
    pairs at random to estimate u. The candidates are never sampled. Pairs within the window are found by
    a band join on time buckets as wide as the window, so no query enumerates every pair of a community or
    a building (the city build ran out of memory on that).

    Comparisons (levels ordered from the strongest agreement; NULL = not compared):
    - category (pairs without a complaint): the character-bigram Jaccard of the two category names is 1
      ('same'), between 0 and 1 ('partial') or 0 ('differs'); when one side has no category name (a grid
      event with an unknown code) the share of the other's category bigrams found in its free text.
    - complaint_category (pairs with a property complaint, whose category is coarse: 维修, 噪音 ...):
      'fits' when the seed demand_complaint_categories says the complaint's category can describe the
      other report's major category (or either is unknown), else 'differs'.
    - reporter: 'same' (one resident_key, or the same name key and phone), 'different' (two residents of
      different names); NULL when either is unknown. A resident split by identity matching keeps one
      name, so a split never counts as two people; a title-only name (李先生) has no name key.
    - time: hours apart within 6 ('h6'), 24 ('h24'), 48 ('h48') or the window ('window'): a few
      hours, the same day, the next day, later (bins fixed a priori, not fitted; the data gives their
      m and u). -#}
{%- set window_hours = var('demand_window_hours', 120) %}
{%- set max_chance_pairs = var('demand_chance_max_pairs', 1000000) %}
with reports as (
    select
        *,
        -- time bucket as wide as the window: two reports within the window are in the same or adjacent buckets
        floor(cast({{ dbt.datediff("cast('2000-01-01' as timestamp)", 'reported_at', 'hour') }} as double precision)
              / {{ window_hours }})                     as bucket
    from {{ ref('int_demand_reports') }}
    where estate_match_key is not null and building is not null and reported_at is not null
),

bigrams as (
    select * from {{ ref('int_demand_bigrams') }}
),

complaint_categories as (
    select complaint_category, major_code from {{ ref('demand_complaint_categories') }}
),

-- each report once per bucket it can meet within the window (its own and the two adjacent)
reports_near as (
    select r.report_id, r.estate_match_key, r.building, r.community_code, r.reported_at, r.source_table,
           r.bucket + o.offset_buckets as bucket
    from reports as r
    cross join (select -1 as offset_buckets union all select 0 union all select 1) as o
),

-- the same estate and building within the window (the candidates); never two records of one grid or
-- property table
building_near as (
    select ra.report_id as a_id, rb.report_id as b_id
    from reports as ra
    inner join reports_near as rb
        on rb.estate_match_key = ra.estate_match_key and rb.building = ra.building and rb.bucket = ra.bucket
       and rb.report_id > ra.report_id
    where abs({{ dbt.datediff('ra.reported_at', 'rb.reported_at', 'minute') }}) <= {{ window_hours }} * 60
      and (ra.source_table <> rb.source_table or ra.source_table = 'tickets')
),

-- the same community, another estate or building, within the window (chance_time)
community_near as (
    select ra.report_id as a_id, rb.report_id as b_id
    from reports as ra
    inner join reports_near as rb
        on rb.community_code = ra.community_code and rb.bucket = ra.bucket and rb.report_id > ra.report_id
       and (rb.estate_match_key <> ra.estate_match_key or rb.building <> ra.building)
    where abs({{ dbt.datediff('ra.reported_at', 'rb.reported_at', 'minute') }}) <= {{ window_hours }} * 60
      and (ra.source_table <> rb.source_table or ra.source_table = 'tickets')
),

-- the chance pairs are a deterministic sample of at most about var demand_chance_max_pairs of each kind (as
-- Splink estimates u from a random sample of max_pairs): a pair is kept when its first report is in a sample
-- of reports whose rate is that budget over the pairs of the kind (same building, any time apart: an upper
-- bound of chance_place); every pair is kept while the kind has fewer pairs than the budget
sample_rates as (
    select
        least(1.0, {{ max_chance_pairs }} / greatest(1.0, (
            select cast(sum(n * (n - 1) / 2) as double precision)
            from (select count(*) as n from reports group by estate_match_key, building) as per_building
        )))                                             as place_rate,
        least(1.0, {{ max_chance_pairs }} / greatest(1.0, (
            select cast(count(*) as double precision) from community_near
        )))                                             as time_rate
),

blocks as (
    select a_id, b_id from building_near
    union all
    select cn.a_id, cn.b_id
    from community_near as cn
    cross join sample_rates as sr
    where {{ hash_unit('cn.a_id') }} < sr.time_rate
    union all
    -- the same estate and building, further apart than the window (chance_place)
    select ra.report_id, rb.report_id
    from reports as ra
    cross join sample_rates as sr
    inner join reports as rb
        on rb.estate_match_key = ra.estate_match_key and rb.building = ra.building and rb.report_id > ra.report_id
    where {{ hash_unit('ra.report_id') }} < sr.place_rate
      and abs({{ dbt.datediff('ra.reported_at', 'rb.reported_at', 'minute') }}) > {{ window_hours }} * 60
      and (ra.source_table <> rb.source_table or ra.source_table = 'tickets')
),

pairs as (
    select
        a.report_id                                     as a_id,
        b.report_id                                     as b_id,
        a.source_table                                  as a_table,
        b.source_table                                  as b_table,
        abs({{ dbt.datediff('a.reported_at', 'b.reported_at', 'minute') }}) / 60.0 as hours_apart,
        case when b.estate_match_key <> a.estate_match_key or b.building <> a.building then 'chance_time'
             when abs({{ dbt.datediff('a.reported_at', 'b.reported_at', 'minute') }}) <= {{ window_hours }} * 60
                 then 'candidate'
             else 'chance_place' end                    as kind,
        case when a.reporter_key = b.reporter_key
                  or (a.reporter_name_key = b.reporter_name_key and a.reporter_phone_hmac = b.reporter_phone_hmac)
                 then 'same'
             when a.reporter_key <> b.reporter_key and a.reporter_name_key <> b.reporter_name_key then 'different'
        end                                             as reporter_level,
        a.source_table = 'complaints' or b.source_table = 'complaints' as with_complaint,
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
    from blocks
    inner join reports as a on a.report_id = blocks.a_id
    inner join reports as b on b.report_id = blocks.b_id
),

n_grams as (
    select report_id, field, count(*) as n from bigrams group by report_id, field
),

-- shared bigrams: category vs category, a's category in b's free text, b's category in a's
shared as (
    select c.a_id, c.b_id, 'cc' as kind, count(*) as inter
    from pairs as c
    inner join bigrams as x on x.report_id = c.a_id and x.field = 'cat'
    inner join bigrams as y on y.report_id = c.b_id and y.field = 'cat' and y.gram = x.gram
    where not c.with_complaint
    group by c.a_id, c.b_id
    union all
    select c.a_id, c.b_id, 'cf', count(*)
    from pairs as c
    inner join bigrams as x on x.report_id = c.a_id and x.field = 'cat'
    inner join bigrams as y on y.report_id = c.b_id and y.field = 'free' and y.gram = x.gram
    where not c.with_complaint
    group by c.a_id, c.b_id
    union all
    select c.a_id, c.b_id, 'fc', count(*)
    from pairs as c
    inner join bigrams as x on x.report_id = c.a_id and x.field = 'free'
    inner join bigrams as y on y.report_id = c.b_id and y.field = 'cat' and y.gram = x.gram
    where not c.with_complaint
    group by c.a_id, c.b_id
),

similarity as (
    select
        c.*,
        -- category similarity in [0, 1] as integer counts: shared / compared (no float comparison)
        case when na.n is not null and nb.n is not null then coalesce(cc.inter, 0)
             when na.n is not null then coalesce(cf.inter, 0)
             when nb.n is not null then coalesce(fc.inter, 0)
        end                                             as grams_shared,
        case when na.n is not null and nb.n is not null then na.n + nb.n - coalesce(cc.inter, 0)
             when na.n is not null then na.n
             when nb.n is not null then nb.n
        end                                             as grams_compared
    from pairs as c
    left join n_grams as na on na.report_id = c.a_id and na.field = 'cat'
    left join n_grams as nb on nb.report_id = c.b_id and nb.field = 'cat'
    left join shared as cc on cc.a_id = c.a_id and cc.b_id = c.b_id and cc.kind = 'cc'
    left join shared as cf on cf.a_id = c.a_id and cf.b_id = c.b_id and cf.kind = 'cf'
    left join shared as fc on fc.a_id = c.a_id and fc.b_id = c.b_id and fc.kind = 'fc'
)

select
    a_id,
    b_id,
    a_table,
    b_table,
    kind,
    cast(hours_apart as double precision)               as hours_apart,
    grams_shared,
    grams_compared,
    case when with_complaint or grams_compared is null then null
         when grams_shared = grams_compared then 'same'
         when grams_shared > 0 then 'partial'
         else 'differs' end                             as category_level,
    case when with_complaint then case when complaint_fits then 'fits' else 'differs' end
    end                                                 as complaint_category_level,
    reporter_level,
    case when kind = 'chance_place' then null
         when hours_apart <= 6 then 'h6'
         when hours_apart <= 24 then 'h24'
         when hours_apart <= 48 then 'h48'
         else 'window' end                              as time_level
from similarity
