-- Each organisation mention resolved to one organisation:
--   1. a USCC with a valid GB 32100 check char is the organisation;
--   2. a legacy code (or a USCC with a wrong check char) links to the one valid USCC whose chars
--      9-17 carry that code (GB 11714 code = USCC chars 9-16 + check char 17);
--   3. a name links to the USCC that records giving both name and USCC use for it most
--      (departments' full and short names from the reference list first);
--   4. otherwise the organisation is known by its legacy code or its name alone.
-- org_key is an opaque hash of what identifies the organisation (its USCC when known).
with mentions as (
    select * from {{ ref('int_org_mentions') }}
),

valid_usccs as (
    select distinct uscc from mentions where uscc_valid
),

by_legacy as (
    select {{ uscc_to_legacy_code('uscc') }} as legacy_code, min(uscc) as uscc
    from valid_usccs
    group by {{ uscc_to_legacy_code('uscc') }}
    having count(*) = 1
),

name_pairs as (
    select org_name_key as name_key, uscc, 0 as priority, count(*) as n
    from mentions where uscc_valid and org_name_key is not null and source_table = 'departments'
    group by org_name_key, uscc
    union all
    select org_short_name_key, uscc, 0, count(*)
    from mentions where uscc_valid and org_short_name_key is not null and source_table = 'departments'
    group by org_short_name_key, uscc
    union all
    select org_name_key, uscc, 1, count(*)
    from mentions where uscc_valid and org_name_key is not null and source_table <> 'departments'
    group by org_name_key, uscc
),

by_name as (
    select name_key, uscc from (
        select name_key, uscc,
               row_number() over (partition by name_key order by priority asc, n desc, uscc asc) as rn
        from name_pairs
    ) as r
    where rn = 1
),

resolved as (
    select
        m.*,
        case
            when m.uscc_valid then m.uscc
            when bl.uscc is not null then bl.uscc
            when bn.uscc is not null then bn.uscc
        end                                             as resolved_uscc,
        case
            when m.uscc_valid then 'uscc'
            when bl.uscc is not null and m.uscc is not null then 'uscc_corrected_by_code'
            when bl.uscc is not null then 'legacy_code'
            when bn.uscc is not null then 'name'
            when m.legacy_code is not null then 'legacy_code_only'
            when m.org_name_key is not null then 'name_only'
        end                                             as evidence
    from mentions as m
    left join by_legacy as bl on bl.legacy_code = m.legacy_code and not coalesce(m.uscc_valid, false)
    left join by_name as bn on bn.name_key = m.org_name_key
)

select
    source_system,
    source_table,
    source_key,
    org_role,
    resolved_uscc                                       as uscc,
    legacy_code,
    org_name,
    org_name_key,
    evidence,
    {{ opaque_key('O', "coalesce(resolved_uscc, 'code:' || legacy_code, 'name:' || org_name_key)") }} as org_key
from resolved
where coalesce(resolved_uscc, legacy_code, org_name_key) is not null
