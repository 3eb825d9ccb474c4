-- One row per community (社区/居委会): its code, names and the street / district it belongs to.
-- From the reference divisions, completed with communities the grid system knows.
with divisions as (
    select * from {{ ref('stg_reference__divisions') }}
),

from_divisions as (
    select
        c.division_code                                 as community_code,
        c.division_name                                 as community_name,
        s.division_code                                 as street_code,
        s.division_name                                 as street_name,
        d.division_code                                 as district_code,
        d.division_name                                 as district_name
    from divisions as c
    left join divisions as s on s.division_code = c.parent_code
    left join divisions as d on d.division_code = s.parent_code
    where c.division_level = '社区'
),

from_grids as (
    select distinct
        g.community_code,
        g.community_name,
        g.street_code || '000'                          as street_code,
        g.street_name,
        cast(null as varchar)                           as district_code,
        cast(null as varchar)                           as district_name
    from {{ ref('stg_grid__grids') }} as g
    where g.community_code is not null
      and g.community_code not in (select d.community_code from from_divisions as d)
),

unioned as (
    select * from from_divisions
    union all
    select * from from_grids
)

select
    community_code,
    community_name,
    {{ community_core('community_name') }}             as community_core,
    street_code,
    street_name,
    district_code,
    district_name,
    count(*) over (partition by {{ community_core('community_name') }}) as n_same_core
from unioned
