-- Life-service orders (服务订单).
{{ config(**staging_incremental('services', 'orders', 'ddbh')) }}

with latest as (
    {{ latest_version(source('services', 'orders'), ['ddbh'], cursor='"updatedAt"') }}
)

select
    {{ clean_text('ddbh') }}                            as order_id,
    {{ clean_text('ddbh') }}                            as source_key,
    upper({{ clean_text('fwbm') }})                     as item_code,
    {{ clean_person_name('xm') }}                       as customer_name,
    {{ phone_columns('dh', 'phone') }},
    {{ clean_text('dz') }}                              as address,
    {{ parse_local_ts('xdsj') }}                        as ordered_at,
    {{ parse_local_ts('wcsj') }}                        as completed_at,
    {{ clean_text('zt') }}                              as status,
    {{ to_int('pf') }}                                  as score,
    {{ parse_local_ts('"updatedAt"') }}                 as updated_at,
    _batch_id,
    _loaded_at
from latest
