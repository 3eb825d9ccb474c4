-- One row per organisation: its USCC (when known), legacy organisation code, preferred name
-- (the reference list's name for a department, else the name records use most), short name,
-- whether it is a city department, and how many records name it.
with resolved as (
    select * from {{ ref('int_orgs_resolved') }}
),

names as (
    select org_key, org_name,
           row_number() over (partition by org_key
                              order by case when source_table = 'departments' then 0 else 1 end,
                                       n desc, org_name asc) as rn
    from (
        select org_key, org_name, source_table, count(*) over (partition by org_key, org_name) as n
        from resolved where org_name is not null
    ) as c
),

departments as (
    select department_uscc, short_name, department_type from {{ ref('stg_reference__departments') }}
)

select
    r.org_key,
    max(r.uscc)                                         as uscc,
    max(case when r.uscc is not null then {{ uscc_to_legacy_code('r.uscc') }} else r.legacy_code end) as legacy_org_code,
    max(n.org_name)                                     as org_name,
    max(d.short_name)                                   as short_name,
    max(d.department_type)                              as department_type,
    max(case when d.department_uscc is not null then 1 else 0 end) = 1 as is_department,
    count(*)                                            as n_records
from resolved as r
left join names as n on n.org_key = r.org_key and n.rn = 1
left join departments as d on d.department_uscc = r.uscc
group by r.org_key
