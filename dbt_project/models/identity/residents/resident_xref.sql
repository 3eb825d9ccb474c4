{#- DESIGN "Identity": one row per current person-bearing source record -> its persistent resident_key. -#}
select
    r.source_system,
    r.source_table,
    r.source_key,
    r.resident_key
from {{ ref('resident_key_registry') }} as r
inner join {{ ref('int_residents_records_matched') }} as m on m.record_ref = r.record_ref
