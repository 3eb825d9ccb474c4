with latest as (
    {{ latest_version(source('reference', 'departments'), none,
        key_exprs=["upper(" ~ clean_text('uscc') ~ ")"]) }}
)

select
    upper({{ clean_text('uscc') }})                     as department_uscc,
    {{ clean_text('uscc') }}                            as source_key,
    {{ clean_text('dept_name') }}                       as department_name,
    {{ clean_text('short_name') }}                      as short_name,
    {{ clean_text('dept_type') }}                       as department_type,
    _batch_id,
    _loaded_at
from latest
