-- Owners (业主). Key xqmc|ld|dy|fh; a merged "3-2-501" (or "3栋2单元501") in fh or ld is split
-- into building / unit / room first. "Owners listed twice" collapse to one row per key.
{%- set merged = '^([0-9A-Za-z]+)(?:-|栋|幢|号楼)([0-9A-Za-z]+)(?:-|单元)([0-9A-Za-z]+)室?$' %}

with parts as (
    select
        r.*,
        coalesce({{ regex_extract(clean_text('fh'), merged, 1) }},
                 {{ regex_extract(clean_text('ld'), merged, 1) }}, {{ clean_text('ld') }}) as _ld,
        coalesce({{ regex_extract(clean_text('fh'), merged, 2) }},
                 {{ regex_extract(clean_text('ld'), merged, 2) }}, {{ clean_text('dy') }}) as _dy,
        coalesce({{ regex_extract(clean_text('fh'), merged, 3) }},
                 {{ regex_extract(clean_text('ld'), merged, 3) }},
                 case when {{ regex_like(clean_text('ld'), merged) }} then null else {{ clean_text('fh') }} end) as _fh
    from {{ source('property', 'owners') }} as r
),

latest as (
    {{ latest_version('parts', none, file=true,
        key_exprs=[clean_text('xqmc'), '_ld', '_dy', '_fh'], rejects_of=source('property', 'owners')) }}
)

select
    {{ clean_text('xqmc') }} || '|' || coalesce(_ld, '') || '|' || coalesce(_dy, '') || '|' || coalesce(_fh, '')
                                                        as source_key,
    {{ clean_text('xqmc') }}                            as estate_name,
    _ld                                                 as building,
    _dy                                                 as unit,
    _fh                                                 as room,
    split_part(_source_file, '/', 1)                    as company,
    {{ clean_person_name('yzxm') }}                     as owner_name,
    {{ phone_columns('yzdh', 'phone') }},
    {{ id_no_columns('yzzjhm', 'id_no') }},
    {{ to_decimal('mj', 10, 2) }}                       as floor_area_m2,
    {{ parse_date('rzrq') }}                            as moved_in_on,
    _source_file,
    _batch_id,
    _loaded_at
from latest
