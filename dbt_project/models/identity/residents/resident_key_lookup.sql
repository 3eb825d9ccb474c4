{#- Where a retired resident key went. A portal or analyst holding a resident_key from an earlier extract
    looks it up here: one row per (retired key, current key). A key retires when its records were merged
    into another resident (or, after a split, when none of its records kept it); chains of merges across
    runs (A -> B, later B -> C) are followed to the key in use now (A -> C). A key that split leads to
    every key its records hold now. Current keys are not listed: they need no lookup. -#}
with recursive current_keys as (
    select distinct resident_key from {{ ref('resident_key_registry') }}
),

moves as (
    select distinct old_key, new_key
    from {{ ref('resident_key_history') }}
    where old_key <> new_key
),

walk (retired_key, reached_key, depth) as (
    select m.old_key, m.new_key, 1
    from moves as m
    where not exists (select 1 from current_keys as c where c.resident_key = m.old_key)
    union all
    select w.retired_key, m.new_key, w.depth + 1
    from walk as w
    inner join moves as m on m.old_key = w.reached_key
    where w.depth < 64
      and not exists (select 1 from current_keys as c where c.resident_key = w.reached_key)
)

select distinct
    w.retired_key,
    w.reached_key as current_resident_key
from walk as w
inner join current_keys as c on c.resident_key = w.reached_key
