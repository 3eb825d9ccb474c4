-- Per estate (物业企业报送的小区, key xqmc|company) and calendar year: the estate's attributes AS DELIVERED for
-- that year and the number of distinct property complaints (tsbh) accepted that year. Every estate known by
-- the as-of date gets a row for every year in which any complaint was accepted (0 when it had none), so a
-- quiet estate counts as rate 0, not missing. A complaint is matched to its estate by estate name + company
-- folder (both from the same company's files).
-- Attributes (households, 党组织 / 业委会, community) come from the estate's version valid at the end of the
-- year (int_property_estate_versions: the latest estates delivery of that month or before), or at the as-of
-- date (var as_of) when that is earlier; a year before the estate's first delivery has none (households and
-- flags NULL, so no rate and no joint mechanism). Records after the as-of date (complaints accepted later,
-- deliveries for later months) are left out.
with versions as (
    select v.*
    from {{ ref('int_property_estate_versions') }} as v
    where {{ known_as_of('v.valid_from') }}
),

estates as (
    -- one row per estate; the community of its latest known delivery stands in for a year without one
    select estate_key, estate_name, company, community_text
    from (
        select
            v.estate_key, v.estate_name, v.company, v.community_text,
            row_number() over (partition by v.estate_key order by v.valid_from desc) as rn
        from versions as v
    ) as ranked
    where rn = 1
),

complaints as (
    select
        c.complaint_id,
        c.estate_name,
        c.company,
        cast(extract(year from c.accepted_at) as integer) as complaint_year
    from {{ ref('stg_property__complaints') }} as c
    where c.accepted_at is not null
      and {{ known_as_of('c.accepted_at') }}
),

years as (
    select distinct
        y.complaint_year,
        {%- set year_end = "cast(cast(y.complaint_year as varchar) || '-12-31' as date)" %}
        {%- if as_of_var() %}
        least({{ year_end }}, {{ as_of_date_literal() }})   as attributes_on
        {%- else %}
        {{ year_end }}                                      as attributes_on
        {%- endif %}
    from complaints as y
),

counted as (
    select k.estate_name, k.company, k.complaint_year, count(distinct k.complaint_id) as complaints
    from complaints as k
    group by k.estate_name, k.company, k.complaint_year
)

select
    e.estate_key,
    e.estate_name,
    e.company,
    coalesce(v.community_text, e.community_text)   as community_text,
    v.households,
    v.has_party_org,
    v.has_owners_committee,
    v.valid_from                    as estate_file_month,
    y.complaint_year                as year,
    coalesce(n.complaints, 0)       as complaints
from estates as e
cross join years as y
left join versions as v
    on v.estate_key = e.estate_key
   and v.valid_from <= y.attributes_on
   and (v.valid_to is null or v.valid_to > y.attributes_on)
left join counted as n
    on n.estate_name = e.estate_name and n.company = e.company and n.complaint_year = y.complaint_year
