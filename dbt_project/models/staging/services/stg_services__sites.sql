-- Service sites (服务阵地: 党群服务中心 / 共享空间 / 红立方 ...).
{{ config(**staging_incremental('services', 'sites', 'zdid')) }}

with latest as (
    {{ latest_version(source('services', 'sites'), ['zdid'], cursor='"updatedAt"') }}
)

select
    {{ clean_text('zdid') }}                            as site_id,
    {{ clean_text('zdid') }}                            as source_key,
    {{ clean_text('zdmc') }}                            as site_name,
    {{ clean_text('zdlx') }}                            as site_type,
    {{ clean_text('dz') }}                              as address,
    {{ clean_text('sqmc') }}                            as community_text,
    {{ to_decimal('jd', 10, 6) }}                       as longitude,
    {{ to_decimal('wd', 10, 6) }}                       as latitude,
    {{ parse_local_ts('"updatedAt"') }}                 as updated_at,
    _batch_id,
    _loaded_at
from latest
