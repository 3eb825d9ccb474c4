{#- One row per resident_key with its best-known attributes, masked or coarsened only (DESIGN "Privacy"):
    name 张*, ID 110105********1234, phone 138****5678, birth year, district / estate / grid. Each attribute
    names the source record table it came from (*_source = 'system.table'). The best value is taken
    from the most authoritative source that has one: current grid resident rows (wg_syrk), party members,
    approval cases, grid workers, property owners, party registrations, service orders, complaints,
    hotline calls, grid-event reporters and party secretaries, then soft-deleted (moved / deceased) grid
    rows; newer rows first within a source. -#}
with r as (
    select
        x.resident_key,
        p.*,
        case (p.source_system || '.' || p.source_table)
            when 'grid.wg_syrk' then case when p.is_deleted then 10 else 1 end
            when 'party.dj_dy' then 2
            when 'approval.cases' then 3
            when 'grid.wg_wgy' then 4
            when 'property.owners' then 5
            when 'party.dj_bd' then 6
            when 'services.orders' then 7
            when 'property.complaints' then 8
            else 9
        end as source_rank
    from {{ ref('resident_key_registry') }} as x
    inner join {{ ref('int_residents_records_prepared') }} as p on p.record_ref = x.record_ref
),

{%- set attrs = {
    'name_masked': 'name_masked',
    'gender': 'gender',
    'birth_year': 'cast(extract(year from birth_date) as integer)',
    'id_masked': 'case when id_check_ok then id_masked end',
    'phone_masked': 'phone_masked',
    'district': 'district',
    'estate_key': 'estate_key',
    'grid_code': 'grid_code',
} %}

{% for a, expr in attrs.items() %}
best_{{ a }} as (
    select resident_key, v as {{ a }}, src as {{ a }}_source
    from (
        select resident_key, {{ expr }} as v, source_system || '.' || source_table as src,
               row_number() over (partition by resident_key
                                  order by case when {{ expr }} is null then 1 else 0 end, source_rank,
                                           updated_at desc, record_ref) as rn
        from r
    ) as ranked
    where rn = 1
),
{% endfor %}

summary as (
    select
        resident_key,
        count(*)                                            as n_records,
        count(distinct source_system)                       as n_systems,
        max(case when id_check_ok then 1 else 0 end) = 1   as has_valid_id,
        max(case when source_table = 'wg_syrk' and not is_deleted then 1 else 0 end) = 1 as is_registered_resident,
        max(case when source_system = 'party' then 1 else 0 end) = 1 as is_party_member,
        min(updated_at)                                     as first_seen_at,
        max(updated_at)                                     as last_seen_at
    from r
    group by resident_key
),

systems as (
    select resident_key, string_agg(src, ',' order by src) as source_tables
    from (select distinct resident_key, source_system || '.' || source_table as src from r) as d
    group by resident_key
)

select
    s.resident_key,
    {%- for a in attrs %}
    b_{{ a }}.{{ a }},
    case when b_{{ a }}.{{ a }} is not null then b_{{ a }}.{{ a }}_source end as {{ a }}_source,
    {%- endfor %}
    s.n_records,
    s.n_systems,
    y.source_tables,
    s.has_valid_id,
    s.is_registered_resident,
    s.is_party_member,
    s.first_seen_at,
    s.last_seen_at
from summary as s
inner join systems as y on y.resident_key = s.resident_key
{%- for a in attrs %}
inner join best_{{ a }} as b_{{ a }} on b_{{ a }}.resident_key = s.resident_key
{%- endfor %}
