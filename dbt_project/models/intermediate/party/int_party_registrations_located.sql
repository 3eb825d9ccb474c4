-- 在职党员回常住地报到 (dj_bd) with the community and grid they registered in, as the identity layer resolves
-- the registration (int_grid_resolved, which identity.grid_xref publishes): a grid code or grid text
-- (前进社区第3网格 / 第3网格 in the community named), else the address, else the community text alone, each
-- variant of a community name (前进社区 / 前进社区居委会 / 前进居委会 / 前进社区居民委员会) matched to the city's divisions reference by its core name
-- (int_communities). community_name is the division's own name for the code.
with reg as (
    select r.registration_id, r.member_id, r.status, r.registered_on, r.source_key
    from {{ ref('stg_party__registrations') }} as r
),

places as (
    select x.source_key, x.grid_code, x.community_code
    from {{ ref('int_grid_resolved') }} as x
    where x.source_system = 'party' and x.source_table = 'dj_bd'
)

select
    reg.registration_id,
    reg.member_id,
    reg.status,
    reg.registered_on,
    c.community_name,
    p.community_code,
    p.grid_code
from reg
left join places as p on p.source_key = reg.source_key
left join {{ ref('int_communities') }} as c on c.community_code = p.community_code
