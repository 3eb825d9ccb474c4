-- One row per rating 1-5 of a catalog item, dated by the day it was given: a government-service case's
-- 好差评 evaluation (stg_approval__evaluations, the item of its case) and a life-service order's score
-- (stg_services__orders, dated by completion, else by the order). Ratings outside 1-5 are left out.
select
    'evaluations'                                   as source_table,
    e.source_key,
    c.item_code,
    cast(e.evaluated_at as date)                    as rated_on,
    e.rating
from {{ ref('stg_approval__evaluations') }} as e
inner join {{ ref('stg_approval__cases') }} as c on c.case_id = e.case_id
where e.rating between 1 and 5
union all
select
    'orders',
    o.source_key,
    o.item_code,
    cast(coalesce(o.completed_at, o.ordered_at) as date),
    o.score
from {{ ref('stg_services__orders') }} as o
where o.score between 1 and 5
