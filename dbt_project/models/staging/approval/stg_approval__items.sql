-- Government-service items (政务服务事项). Raw camelCase fields are quoted: "bmUscc", "updatedAt".
{{ config(**staging_incremental('approval', 'items', 'sxbm')) }}

with latest as (
    {{ latest_version(source('approval', 'items'), ['sxbm'], cursor='"updatedAt"') }}
)

select
    upper({{ clean_text('sxbm') }})                     as item_code,
    {{ clean_text('sxbm') }}                            as source_key,
    {{ clean_text('ssbm') }}                            as implementation_code,
    {{ clean_text('sxmc') }}                            as item_name,
    {{ clean_text('sxlx') }}                            as item_type,
    {{ normalize_uscc('"bmUscc"') }}                    as department_uscc,
    {{ clean_text('bmmc') }}                            as department_name,
    {{ clean_text('xscj') }}                            as level,
    {{ to_int('fdsx') }}                                as statutory_limit_days,
    {{ to_int('cnsx') }}                                as promised_limit_days,
    {{ clean_text('bjlx') }}                            as handling_type,
    {{ clean_text('wbsd') }}                            as online_level,
    {{ to_int('dxcs') }}                                as max_visits,
    {{ parse_local_ts('"updatedAt"') }}                 as updated_at,
    _batch_id,
    _loaded_at
from latest
