{{ config(**staging_incremental('party', 'dj_org', 'org_id')) }}

with latest as (
    {{ latest_version(source('party', 'dj_org'), ['org_id'], cursor='gxsj') }}
)

select
    {{ clean_text('org_id') }}                          as org_id,
    {{ clean_text('org_id') }}                          as source_key,
    {{ clean_text('org_name') }}                        as org_name,
    {{ clean_text('org_type') }}                        as org_type,
    {{ clean_text('parent_id') }}                       as parent_org_id,
    {{ clean_text('qhdm') }}                            as division_code,
    {{ clean_text('wgmc') }}                            as grid_text,
    {{ grid_code_in_text('wgmc') }}                     as grid_code,
    {{ normalize_uscc('host_uscc') }}                   as host_uscc,
    {{ legacy_org_code('host_uscc') }}                  as host_org_code,
    {{ clean_person_name('sj_xm') }}                    as secretary_name,
    {{ phone_columns('lxdh', 'contact_phone') }},
    {{ parse_local_ts('gxsj') }}                        as updated_at,
    _batch_id,
    _loaded_at
from latest
