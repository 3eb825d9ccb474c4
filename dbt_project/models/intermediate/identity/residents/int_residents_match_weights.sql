{#- Fellegi–Sunter weights of the resident comparisons, estimated from this city's own records on every
    build (nothing here is a number fitted to a simulator).

    m (the probability that a field agrees when two records are the same person) is learnt from the
    pairs a deterministic rule labels as matches: two records carrying the same valid ID number (check
    character right). This is what expectation maximisation converges to on an ID block, where every
    pair is a match, and it is what Splink users do when they train on ID blocks; training on phone or
    address blocks would learn households as matches. Laplace-smoothed: (agree + 1) / (compared + 2).
    u (the probability that it agrees by chance) is the chance that two random records agree:
    sum over values of (count / total)^2. Names get a value-specific u instead (term frequency, in
    int_residents_records_matched): agreeing on a common name is weaker evidence than on a rare one.
    The prior (log2 odds that two random records are one person) is the share of matching pairs among
    the records with a valid ID: sum of n(n-1) over ID clusters / N(N-1).

    agree_weight = log2(m / u), disagree_weight = log2((1 - m) / (1 - u)): a pair's match weight is the
    prior plus the weights of its comparisons; match probability = 1 / (1 + 2^-weight).
    Every figure comes from integer counts, so a rebuild on the same records gives the same weights. -#}

with p as (
    select * from {{ ref('int_residents_records_prepared') }}
),

record_phones as (
    {{ idn_record_phones('p') }}
),

flats as (
    select record_ref, estate_key || '|' || building || '|' || unit || '|' || room as flat
    from p
    where estate_key is not null and building is not null and unit is not null and room is not null
),

-- where each phone is on file, by flat (any record, any name)
phone_flats as (
    select ph, flat from ({{ idn_phone_flats('record_phones', 'p') }}) as f
),

-- labelled matches: ordered pairs of two records with the same valid ID number
id_pairs as (
    select
        a.record_ref as a_ref,
        b.record_ref as b_ref,
        a.name_key as a_name, b.name_key as b_name,
        a.phone_hmac as a_ph, a.phone2_hmac as a_ph2, b.phone_hmac as b_ph, b.phone2_hmac as b_ph2,
        a.id_partial_hmac as a_partial, b.id_partial_hmac as b_partial,
        a.birth_date as a_birth, b.birth_date as b_birth
    from p as a
    inner join p as b on b.id_hmac = a.id_hmac and b.record_ref <> a.record_ref
    where a.id_hmac is not null
),

id_pairs_flat as (
    select i.*, fa.flat as a_flat, fb.flat as b_flat
    from id_pairs as i
    left join flats as fa on fa.record_ref = i.a_ref
    left join flats as fb on fb.record_ref = i.b_ref
),

id_pairs_features as (
    select
        i.*,
        (i.a_ph is not null or i.a_ph2 is not null) and (i.b_ph is not null or i.b_ph2 is not null) as phone_compared,
        coalesce(i.a_ph in (i.b_ph, i.b_ph2), false) or coalesce(i.a_ph2 in (i.b_ph, i.b_ph2), false) as phone_agree,
        i.a_flat is not null and i.b_flat is not null as flat_compared,
        coalesce(i.a_flat = i.b_flat, false) as flat_agree,
        -- household phone: a's phone is on file at b's flat (under any name), where neither the phones nor
        -- the flats agree directly
        exists(select 1 from phone_flats as f where f.ph = i.a_ph and f.flat = i.b_flat) as household_agree
    from id_pairs_flat as i
),

m_counts as (
    select 'name' as comparison,
           count(case when a_name is not null and b_name is not null then 1 end) as compared,
           count(case when a_name = b_name then 1 end) as agreeing
    from id_pairs_features
    union all
    select 'phone', count(case when phone_compared then 1 end), count(case when phone_agree then 1 end)
    from id_pairs_features
    union all
    select 'flat', count(case when flat_compared then 1 end), count(case when flat_agree then 1 end)
    from id_pairs_features
    union all
    select 'id_partial',
           count(case when a_partial is not null and b_partial is not null then 1 end),
           count(case when a_partial = b_partial then 1 end)
    from id_pairs_features
    union all
    select 'birth_date',
           count(case when a_birth is not null and b_birth is not null then 1 end),
           count(case when a_birth = b_birth then 1 end)
    from id_pairs_features
    union all
    select 'household_phone',
           count(case when a_ph is not null and b_flat is not null and not phone_agree and not flat_agree then 1 end),
           count(case when household_agree and not phone_agree and not flat_agree then 1 end)
    from id_pairs_features
),

-- chance agreement: sum of squared value counts over the squared total (integers, then one division)
value_counts as (
    select 'name' as comparison, count(*) as n from p where name_key is not null group by name_key
    union all
    select 'phone', count(*) from record_phones group by ph
    union all
    select 'flat', count(*) from flats group by flat
    union all
    select 'id_partial', count(*) from p where id_partial_hmac is not null group by id_partial_hmac
    union all
    select 'birth_date', count(*) from p where birth_date is not null group by birth_date
),

u_counts as (
    select comparison,
           sum(cast(n as {{ dbt.type_bigint() }}) * n) as sum_sq,
           sum(cast(n as {{ dbt.type_bigint() }})) as total
    from value_counts
    group by comparison
    union all
    -- a random record's phone on file at a random other record's flat: the numerator is, over phone-bearing
    -- records, the records living at the flats where that phone is on file; the denominator (phone records
    -- x flat records) is household_denominator
    select 'household_phone',
           coalesce((select sum(cast(fr.n as {{ dbt.type_bigint() }}))
                     from record_phones as r
                     inner join phone_flats as pf on pf.ph = r.ph
                     inner join (select flat, count(*) as n from flats group by flat) as fr on fr.flat = pf.flat), 0),
           cast(null as {{ dbt.type_bigint() }})
),

household_denominator as (
    select cast((select count(*) from record_phones) as double precision)
           * cast((select count(*) from flats) as double precision) as denom
),

id_clusters as (
    select id_hmac, count(*) as n from p where id_hmac is not null group by id_hmac
),

prior_counts as (
    select sum(cast(n as {{ dbt.type_bigint() }}) * (n - 1)) as matching_ordered_pairs,
           sum(cast(n as {{ dbt.type_bigint() }})) as id_records
    from id_clusters
),

probabilities as (
    select
        m.comparison,
        m.compared,
        m.agreeing,
        (cast(m.agreeing as double precision) + 1) / (cast(m.compared as double precision) + 2) as m_probability,
        case
            when m.comparison = 'household_phone'
                then case when h.denom > 0 then cast(u.sum_sq as double precision) / h.denom end
            when u.total > 0
                then cast(u.sum_sq as double precision)
                     / (cast(u.total as double precision) * cast(u.total as double precision))
        end as u_probability
    from m_counts as m
    left join u_counts as u on u.comparison = m.comparison
    cross join household_denominator as h
)

select
    comparison,
    compared as pairs_compared,
    agreeing as pairs_agreeing,
    m_probability,
    u_probability,
    case when u_probability > 0 and u_probability < 1
         then ln(m_probability / u_probability) / ln(2) else 0 end as agree_weight,
    case when u_probability > 0 and u_probability < 1
         then ln((1 - m_probability) / (1 - u_probability)) / ln(2) else 0 end as disagree_weight
from probabilities
union all
select
    'prior',
    id_records,
    matching_ordered_pairs,
    match_rate,
    cast(null as double precision),
    case when match_rate < 1 then ln(match_rate / (1 - match_rate)) / ln(2) end,
    cast(null as double precision)
from (
    select
        id_records,
        matching_ordered_pairs,
        -- with fewer than two ID-bearing records (or no repeated ID) the rate is unknown: one match per
        -- record, the weakest prior a matching run can use
        case
            when matching_ordered_pairs > 0
                then cast(matching_ordered_pairs as double precision)
                     / (cast(id_records as double precision) * (cast(id_records as double precision) - 1))
            else 1.0 / greatest(cast((select count(*) from p) as double precision), 2.0)
        end as match_rate
    from prior_counts
) as l
