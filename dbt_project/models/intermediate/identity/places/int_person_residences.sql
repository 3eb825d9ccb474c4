-- Where a person lives, by the keys other systems use to name them (ID number; name + phone),
-- from the residents register (current rows, wg_syrk.wgbm). Used only as the last resort for a
-- record that names a person and no usable place (an approval case or service order without an
-- address): its grid is the person's registered one. A key that points at several grids is
-- dropped. The keys are keyed pseudonyms (idn_hmac) of the ID number and of name|phone: no ID number,
-- phone or name leaves staging in clear.
with residents as (
    select r.id_no, r.name, r.phone, r.grid_code
    from {{ ref('stg_grid__residents') }} as r
    inner join {{ ref('int_grids') }} as g on g.grid_code = r.grid_code
    where not r.is_deleted
),

keyed as (
    select 'id_no' as key_kind, {{ idn_hmac('id_no') }} as person_key, grid_code
    from residents where id_no is not null
    union all
    select 'name_phone', {{ idn_hmac("name || '|' || phone") }}, grid_code
    from residents where name is not null and phone is not null and phone <> '13800000000'
)

select key_kind, person_key, min(grid_code) as grid_code
from keyed
group by key_kind, person_key
having min(grid_code) = max(grid_code)
