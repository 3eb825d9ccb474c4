-- One row per grid code the grid system knows (its grid list wg_grid or its worker roster wg_wgy): the grid
-- worker the grid list assigns to it (wgy_id) and, from the roster, whether a worker of the grid is on duty
-- (在岗) and whether one is a full-time (专职) on-duty worker with a social-work certificate (社工证书).
with roster as (
    select
        w.grid_code,
        max(case when w.status = '在岗' and w.worker_type = '专职' and w.has_social_work_certificate then 1 else 0 end) as certified,
        max(case when w.status = '在岗' then 1 else 0 end) as staffed
    from {{ ref('stg_grid__workers') }} as w
    where w.grid_code is not null
    group by w.grid_code
),

assigned as (
    select g.grid_code, g.grid_worker_id
    from {{ ref('stg_grid__grids') }} as g
    where g.grid_code is not null
)

select
    coalesce(a.grid_code, r.grid_code)              as grid_code,
    a.grid_worker_id                                as assigned_worker_id,
    coalesce(r.staffed, 0) = 1                      as has_worker_on_duty,
    coalesce(r.certified, 0) = 1                    as has_certified_fulltime_worker
from assigned as a
full outer join roster as r on r.grid_code = a.grid_code
