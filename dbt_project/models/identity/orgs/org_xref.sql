-- One row per source record that names an organisation, with the organisation's key.
select source_system, source_table, source_key, org_key
from {{ ref('int_orgs_resolved') }}
