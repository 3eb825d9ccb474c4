-- Grid events (wg_sj), cleaned. The category code is kept as stated (lbdm, stated_category_code); an event
-- without one gets it back from its description in int_grid_events_categorised (intermediate), which the
-- marts and the identity layer read.
{{ config(**staging_incremental('grid', 'wg_sj', 'sjbh')) }}

with latest as (
    {{ latest_version(source('grid', 'wg_sj'), ['sjbh'], cursor='update_time') }}
)

select
    {{ clean_text('sjbh') }}                            as event_id,
    {{ clean_text('sjbh') }}                            as source_key,
    {{ clean_text('sjly') }}                            as event_source,
    {{ clean_text('lbdm') }}                            as stated_category_code,
    {{ clean_text('sjms') }}                            as description,
    {{ clean_text('fsdz') }}                            as location_address,
    {{ to_decimal('jd', 10, 6) }}                       as longitude,
    {{ to_decimal('wd', 10, 6) }}                       as latitude,
    {{ clean_text('wgbm') }}                            as grid_code,
    {{ clean_person_name('sbr_xm') }}                   as reporter_name,
    {{ phone_columns('sbr_dh', 'reporter_phone') }},
    {{ normalize_uscc('czbm_uscc') }}                   as handling_dept_uscc,
    {{ clean_text('zt') }}                              as status,
    {{ parse_local_ts('sbsj') }}                        as reported_at,
    {{ parse_local_ts('clsx') }}                        as deadline_at,
    {{ parse_local_ts('jasj') }}                        as closed_at,
    {{ normalize_satisfaction('myd') }}                 as satisfaction,
    {{ parse_local_ts('update_time') }}                 as updated_at,
    _batch_id,
    _loaded_at
from latest
