{{ config(**staging_incremental('grid', 'wg_grid', 'wgbm')) }}

with latest as (
    {{ latest_version(source('grid', 'wg_grid'), ['wgbm'], cursor='update_time') }}
)

select
    {{ clean_text('wgbm') }}                            as grid_code,
    {{ clean_text('wgbm') }}                            as source_key,
    {{ clean_text('wgmc') }}                            as grid_name,
    {{ clean_text('sqbm') }}                            as community_code,
    {{ clean_text('sqmc') }}                            as community_name,
    {{ clean_text('jdbm') }}                            as street_code,
    {{ clean_text('jdmc') }}                            as street_name,
    {{ clean_text('wglx') }}                            as grid_type,
    {{ to_int('hs') }}                                  as households,
    {{ to_int('rks') }}                                 as population,
    {{ clean_text('wgy_id') }}                          as grid_worker_id,
    {{ clean_text('bj_wkt') }}                          as boundary_wkt,
    {{ parse_local_ts('update_time') }}                 as updated_at,
    _batch_id,
    _loaded_at
from latest
