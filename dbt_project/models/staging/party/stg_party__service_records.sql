{{ config(**staging_incremental('party', 'dj_fwjl', 'jl_id')) }}

with latest as (
    {{ latest_version(source('party', 'dj_fwjl'), ['jl_id'], cursor='gxsj') }}
)

select
    {{ clean_text('jl_id') }}                           as service_record_id,
    {{ clean_text('jl_id') }}                           as source_key,
    {{ clean_text('dy_id') }}                           as member_id,
    {{ clean_text('hdlx') }}                            as activity_type,
    {{ clean_text('wgmc') }}                            as grid_text,
    {{ grid_code_in_text('wgmc') }}                     as grid_code,
    {{ parse_date('fwrq') }}                            as served_on,
    {{ to_decimal('fwsc', 5, 1) }}                      as service_hours,
    {{ to_int('jf') }}                                  as points,
    {{ parse_local_ts('gxsj') }}                        as updated_at,
    _batch_id,
    _loaded_at
from latest
