{{ config(**staging_incremental('party', 'dj_bd', 'bd_id')) }}

with latest as (
    {{ latest_version(source('party', 'dj_bd'), ['bd_id'], cursor='gxsj') }}
)

select
    {{ clean_text('bd_id') }}                           as registration_id,
    {{ clean_text('bd_id') }}                           as source_key,
    {{ clean_text('dy_id') }}                           as member_id,
    {{ clean_person_name('xm') }}                       as name,
    {{ id_no_columns('sfzh', 'id_no') }},
    {{ clean_text('czd_sq') }}                          as residence_community_text,
    {{ clean_text('czd_dz') }}                          as residence_address,
    {{ clean_text('wgmc') }}                            as grid_text,
    {{ grid_code_in_text('wgmc') }}                     as grid_code,
    {{ parse_date('bdrq') }}                            as registered_on,
    {{ clean_text('zt') }}                              as status,
    {{ parse_local_ts('gxsj') }}                        as updated_at,
    _batch_id,
    _loaded_at
from latest
