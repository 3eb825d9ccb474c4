-- Points (积分量化) per subject, month and metric: the rule version valid for the month applied to the units.
--   raw_points = units × points_per_unit
--   points     = raw_points limited to ± cap_points (no limit when cap_points is NULL)
-- A metric without a rule version valid for the month scores nothing (no row).
select
    cast(u.subject_kind as varchar)                         as subject_kind,
    cast(u.subject_id as varchar)                           as subject_id,
    cast(u.month_start as date)                             as month_start,
    cast(u.metric as varchar)                               as metric,
    cast(r.rule_id as varchar)                              as rule_id,
    cast(r.version as integer)                              as rule_version,
    cast(u.units as double precision)                       as units,
    cast(r.points_per_unit as double precision)             as points_per_unit,
    cast(r.cap_points as double precision)                  as cap_points,
    cast(u.units * r.points_per_unit as double precision)   as raw_points,
    cast(case
        when r.cap_points is null or abs(u.units * r.points_per_unit) <= r.cap_points then u.units * r.points_per_unit
        when u.units * r.points_per_unit < 0 then -r.cap_points
        else r.cap_points
    end as double precision)                                as points,
    cast(r.cap_points is not null and abs(u.units * r.points_per_unit) > r.cap_points as boolean) as is_capped
from {{ ref('int_points_units') }} as u
inner join {{ ref('points_rules') }} as r
    on r.subject_kind = u.subject_kind
   and r.metric = u.metric
   and r.valid_from <= u.month_start
   and (r.valid_to is null or u.month_start <= r.valid_to)
