-- Estate attributes over time (SCD type 2): one row per estate (xqmc|company) and delivery of its estates
-- file, valid from that delivery's month until the month of the estate's next delivery (exclusive; NULL =
-- still valid). An estate missing from a later file of its company keeps its last delivered attributes,
-- as stg_property__estates does. The version valid on a day d: valid_from <= d and (valid_to is null or
-- d < valid_to); before the estate's first delivery there is none.
with deliveries as (
    select * from {{ ref('stg_property__estate_deliveries') }}
)

select
    d.source_key                                                                        as estate_key,
    d.estate_name,
    d.company,
    d.community_text,
    d.households,
    d.has_party_org,
    d.has_owners_committee,
    d.delivery_month                                                                    as valid_from,
    lead(d.delivery_month) over (partition by d.source_key order by d.delivery_month)   as valid_to,
    d._source_file
from deliveries as d
