-- Party organisations with the community and grid they sit in, as the identity layer resolves the
-- organisation (int_grid_resolved, which identity.grid_xref publishes: a grid code or grid text in any
-- form — 第3网格 / 三网格 / 前进社区3网格 / a 15-digit code — in the community of its division code, else its
-- division code alone).
with orgs as (
    select o.org_id, o.org_type, o.source_key
    from {{ ref('stg_party__orgs') }} as o
),

places as (
    select x.source_key, x.grid_code, x.community_code
    from {{ ref('int_grid_resolved') }} as x
    where x.source_system = 'party' and x.source_table = 'dj_org'
)

select
    orgs.org_id,
    orgs.org_type,
    p.community_code,
    p.grid_code
from orgs
left join places as p on p.source_key = orgs.source_key
