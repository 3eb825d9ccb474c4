-- One row per life-service order (生活服务订单, stg_services__orders): the item ordered, the day it was
-- ordered and its status (已完成 = completed). What the catalog counts per item; no customer data.
select
    o.order_id,
    o.item_code,
    cast(o.ordered_at as date)                      as ordered_on,
    o.status
from {{ ref('stg_services__orders') }} as o
