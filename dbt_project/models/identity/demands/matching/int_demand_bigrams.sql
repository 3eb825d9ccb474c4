-- Character bigrams of each report's category name ('cat') and free text ('free'), distinct,
-- for n-gram overlap in SQL (same on both engines).
with texts as (
    select report_id, 'cat' as field, regexp_replace(cat_text, '[[:space:][:punct:]，。：；、！？（）]', '', 'g') as t
    from {{ ref('int_demand_reports') }}
    where cat_text is not null
    union all
    select report_id, 'free', regexp_replace(free_text, '[[:space:][:punct:]，。：；、！？（）]', '', 'g')
    from {{ ref('int_demand_reports') }}
    where free_text is not null
)

select distinct
    t.report_id,
    t.field,
    substr(t.t, s.i, 2)                                 as gram
from texts as t
inner join {{ int_series(400) }} as s on s.i < length(t.t)
