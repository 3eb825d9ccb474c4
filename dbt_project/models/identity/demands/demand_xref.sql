-- One row per channel record of a demand (grid event, 12345 ticket, property complaint), with
-- the demand it belongs to: one incident reported through several channels is one demand.
-- The link that explains the record's demand: the other record of its strongest pair
-- (link_rule 'probabilistic', with the pair's learnt match probability) or the ticket its
-- stated repeat (cfgd) points at ('stated_repeat'); NULL for a demand of one record.
select
    r.source_system,
    r.source_table,
    r.source_key,
    c.demand_key,
    c.link_rule,
    l.source_table                                      as linked_source_table,
    l.source_key                                        as linked_source_key,
    c.match_probability
from {{ ref('int_demand_reports') }} as r
inner join {{ ref('int_demand_clusters') }} as c on c.report_id = r.report_id
left join {{ ref('int_demand_reports') }} as l on l.report_id = c.linked_report_id
