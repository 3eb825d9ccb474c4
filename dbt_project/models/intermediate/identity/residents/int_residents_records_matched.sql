{#- Resident matching: every prepared person record -> a cluster (cluster_ref = the record_ref of one of
    its records; transient, the persistent resident_key is assigned in resident_key_registry).

    1. Deterministic anchors. Records with a valid ID number (check char right) are grouped by its
       pseudonym. A record whose ID has a wrong check char joins the anchor whose valid ID has the same
       17-char body AND whose name agrees (weak evidence, never a key on its own). A party registration
       (dj_bd) joins the anchor of the member record (dj_dy) its dy_id points at.
    2. Probabilistic assignment of the other records to anchors. Blocking on exact keys only (hash joins,
       linear in the records): name + phone, name + flat (estate key, building, unit, room), name + partial
       ID (first 6 + last 4 of a masked ID), name + birth date, and name + household phone (the record's
       phone is on file, under any name, at the flat where the member lives). Every candidate pair is
       scored with Fellegi–Sunter weights learnt from this city's records (int_residents_match_weights):
           prior + name (term frequency: log2(m_name * named records / records of this name))
           + phone / flat / partial ID / birth date: log2(m/u) when they agree, log2((1-m)/(1-u)) when a
             flat is on both and differs
           + household phone (only when neither the phone nor the flat agrees directly)
       and dropped on any conflict (valid IDs, birth date, gender or partial ID differ; an ID with a wrong
       check char is no conflict: it is often an Excel-mangled number). A record goes to the anchor of
       its best-scoring pair, plus the phone disagreement weight when the record has a phone, the anchor's
       cluster knows phones and none of them is the record's (evidence listed as "-phone_differs"): of two
       same-named people at one flat, an order placed from a phone the mother is known by goes to the
       daughter with no phone on file, not to the mother. It is assigned only when its match probability
       1 / (1 + 2^-weight) reaches var identity_match_probability (default 0.95) and no other anchor
       scores the same (a tie leaves the record unassigned: ambiguous).
       A title-only name (李先生, 王女士) has no name key (int_residents_records_prepared), so it is never
       name evidence; a shared family phone never merges two people unless the names agree; twins (same
       surname, birth date and flat, different given names) never meet in a block.
    3. The remaining records are linked among themselves with the same blocks, guards, weights and
       probability, and grouped by min-label propagation over those links (var
       identity_propagation_rounds, default 6 rounds).
    4. A party service record (dj_fwjl, no name, only dy_id) joins the resident of its member record.
    5. A title-only name (李先生, 王女士) is no name evidence, but with a phone it joins the ONE resident
       whose named records share that phone, whose name begins with the surname the title gives and none
       of whose sharing records states another sex (one of them stating the title's sex). No such resident,
       or more than one (father and son 李 on one family phone), leaves it a resident of its own: a shared
       phone never merges two people on its own.
-#}

{%- set rounds = var('identity_propagation_rounds', 6) %}
{%- set match_probability = var('identity_match_probability', 0.95) %}

with p as (
    select * from {{ ref('int_residents_records_prepared') }}
),

-- the learnt weights, one row; min_weight = log2 odds of the required match probability
w as (
    select
        max(case when comparison = 'prior' then agree_weight end) as w_prior,
        max(case when comparison = 'name' then m_probability end) as m_name,
        max(case when comparison = 'phone' then agree_weight end) as w_phone,
        max(case when comparison = 'phone' then disagree_weight end) as w_phone_differs,
        max(case when comparison = 'flat' then agree_weight end) as w_flat,
        max(case when comparison = 'flat' then disagree_weight end) as w_flat_differs,
        max(case when comparison = 'id_partial' then agree_weight end) as w_partial,
        max(case when comparison = 'birth_date' then agree_weight end) as w_birth,
        max(case when comparison = 'household_phone' then agree_weight end) as w_household,
        ln({{ match_probability }} / (1 - {{ match_probability }})) / ln(2) as min_weight
    from {{ ref('int_residents_match_weights') }}
),

-- term frequency of each name: agreeing on a common name is weaker evidence than on a rare one
name_weights as (
    select f.name_key,
           ln(w.m_name * cast(f.named as double precision) / cast(f.n as double precision)) / ln(2) as w_name
    from (
        select name_key, count(*) as n, sum(count(*)) over () as named
        from p
        where name_key is not null
        group by name_key
    ) as f
    cross join w
),

-- 1. deterministic anchors ------------------------------------------------------------------------
id_anchor as (
    select record_ref, min(record_ref) over (partition by id_hmac) as cluster_ref
    from p
    where id_hmac is not null
),

body_link as (
    select u.record_ref, min(a.cluster_ref) as cluster_ref, min(m.record_ref) as matched_record_ref
    from p as u
    inner join p as m
        on m.id_body_hmac = u.id_body_hmac and m.name_key = u.name_key and m.id_hmac is not null
    inner join id_anchor as a on a.record_ref = m.record_ref
    where u.id_hmac is null and u.id_body_hmac is not null
    group by u.record_ref
),

member_link as (
    select u.record_ref, min(a.cluster_ref) as cluster_ref, min(m.record_ref) as matched_record_ref
    from p as u
    inner join p as m
        on m.member_id = u.member_id and m.source_system = 'party' and m.source_table = 'dj_dy'
    inner join id_anchor as a on a.record_ref = m.record_ref
    left join body_link as b on b.record_ref = u.record_ref
    where u.source_system = 'party' and u.source_table = 'dj_bd' and u.id_hmac is null
      and b.record_ref is null
    group by u.record_ref
),

anchored as (
    select a.record_ref, a.cluster_ref,
           case when a.record_ref = a.cluster_ref then 'anchor_founder' else 'id_exact' end as match_rule,
           case when a.record_ref <> a.cluster_ref then a.cluster_ref end as matched_record_ref,
           case when a.record_ref <> a.cluster_ref then 'id_no' end as agreed_fields,
           cast(100 as double precision) as match_score
    from id_anchor as a
    union all
    select record_ref, cluster_ref, 'id_body_name', matched_record_ref, 'id_no_body17,name', 100
    from body_link
    union all
    select record_ref, cluster_ref, 'party_member_link', matched_record_ref, 'dy_id', 100
    from member_link
),

-- every phone of every record (first and second number), for the phone blocks below
record_phones as (
    {{ idn_record_phones('p') }}
),

-- where each phone is on file with a flat (any record, any name; for household-phone evidence)
phone_flats as (
    {{ idn_phone_flats('record_phones', 'p') }}
),

-- 2. probabilistic assignment to anchors (pass 2 also reaches records assigned in pass 1, e.g. a
--    caller whose phone only an owner record of the anchor carries) -----------------------------------
{%- set passes = var('identity_assignment_passes', 2) %}
{% for k in range(1, passes + 1) %}
unanchored_{{ k }} as (
    select p.*
    from p
    left join anchored as a on a.record_ref = p.record_ref
    {%- for j in range(1, k) %}
    left join assigned_{{ j }} as s{{ j }} on s{{ j }}.record_ref = p.record_ref
    {%- endfor %}
    where a.record_ref is null and p.name_key is not null
    {%- for j in range(1, k) %} and s{{ j }}.record_ref is null{% endfor %}
),

members_{{ k }} as (
    select p.*, a.cluster_ref
    from p
    inner join (
        select record_ref, cluster_ref from anchored
        {%- for j in range(1, k) %}
        union all select record_ref, cluster_ref from assigned_{{ j }}
        {%- endfor %}
    ) as a on a.record_ref = p.record_ref
    where p.name_key is not null
),

member_phones_{{ k }} as (
    select m.record_ref, m.cluster_ref, m.name_key, r.ph
    from members_{{ k }} as m inner join record_phones as r on r.record_ref = m.record_ref
),

unanchored_phones_{{ k }} as (
    select u.record_ref, u.name_key, r.ph
    from unanchored_{{ k }} as u inner join record_phones as r on r.record_ref = u.record_ref
),

anchor_candidates_{{ k }} as (
    select u_ref, m_ref, cluster_ref, max(household) as household from (
        select u.record_ref as u_ref, m.record_ref as m_ref, m.cluster_ref, 0 as household
        from unanchored_phones_{{ k }} as u
        inner join member_phones_{{ k }} as m on m.name_key = u.name_key and m.ph = u.ph
        union all
        select u.record_ref, m.record_ref, m.cluster_ref, 0
        from unanchored_{{ k }} as u
        inner join members_{{ k }} as m
            on m.name_key = u.name_key and m.estate_key = u.estate_key and m.building = u.building
           and m.unit = u.unit and m.room = u.room
        union all
        select u.record_ref, m.record_ref, m.cluster_ref, 0
        from unanchored_{{ k }} as u
        inner join members_{{ k }} as m on m.name_key = u.name_key and m.id_partial_hmac = u.id_partial_hmac
        union all
        select u.record_ref, m.record_ref, m.cluster_ref, 0
        from unanchored_{{ k }} as u
        inner join members_{{ k }} as m on m.name_key = u.name_key and m.birth_date = u.birth_date
        union all
        -- household phone: the record's phone is on file at a flat (any record, any name) where a member
        -- of the same name lives: a caller using the family's phone
        select u.record_ref, m.record_ref, m.cluster_ref, 1
        from unanchored_phones_{{ k }} as u
        inner join phone_flats as f on f.ph = u.ph
        inner join members_{{ k }} as m
            on m.name_key = u.name_key and f.estate_key = m.estate_key and f.building = m.building
           and f.unit = m.unit and f.room = m.room
    ) as c
    group by u_ref, m_ref, cluster_ref
),

anchor_pairs_{{ k }} as (
    select c.u_ref, c.m_ref, c.cluster_ref, nw.w_name,
           {{ idn_pair_features('u', 'm') }},
           c.household = 1 as household_phone
    from anchor_candidates_{{ k }} as c
    inner join unanchored_{{ k }} as u on u.record_ref = c.u_ref
    inner join p as m on m.record_ref = c.m_ref
    inner join name_weights as nw on nw.name_key = u.name_key
),

anchor_scored_{{ k }} as (
    select a.*,
           {{ idn_pair_weight('a', 'w') }}
             + case when a.household_phone and not a.phone_agree and not a.flat_agree then w.w_household else 0 end
               as score
    from anchor_pairs_{{ k }} as a
    cross join w
    where not a.conflict
),

anchor_best_pair_{{ k }} as (
    select *,
           row_number() over (partition by u_ref, cluster_ref order by score desc, m_ref asc) as rn_pair
    from anchor_scored_{{ k }}
),

-- cluster-level phone evidence: the record has a phone, the cluster knows phones, none of them is it
cluster_phone_hit_{{ k }} as (
    select distinct u.record_ref as u_ref, m.cluster_ref
    from unanchored_phones_{{ k }} as u
    inner join member_phones_{{ k }} as m on m.ph = u.ph
),

cluster_with_phone_{{ k }} as (
    select distinct cluster_ref from member_phones_{{ k }}
),

anchor_adjusted_{{ k }} as (
    select b.*,
           (u.phone_hmac is not null and cp.cluster_ref is not null and h.u_ref is null) as phone_mismatch
    from anchor_best_pair_{{ k }} as b
    inner join unanchored_{{ k }} as u on u.record_ref = b.u_ref
    left join cluster_with_phone_{{ k }} as cp on cp.cluster_ref = b.cluster_ref
    left join cluster_phone_hit_{{ k }} as h on h.u_ref = b.u_ref and h.cluster_ref = b.cluster_ref
    where b.rn_pair = 1
),

anchor_ranked_{{ k }} as (
    select *,
           row_number() over (partition by u_ref order by adj_score desc, cluster_ref asc) as rn,
           count(*) over (partition by u_ref, adj_score) as n_at_score
    from (
        select a.*, a.score + case when a.phone_mismatch then w.w_phone_differs else 0 end as adj_score
        from anchor_adjusted_{{ k }} as a
        cross join w
    ) as a
),

assigned_{{ k }} as (
    select u_ref as record_ref, cluster_ref, 'probabilistic_anchor' as match_rule, m_ref as matched_record_ref,
           'name'
           || case when phone_agree then ',phone' else '' end
           || case when flat_agree then ',flat' else '' end
           || case when partial_agree then ',id_partial' else '' end
           || case when birth_agree then ',birth_date' else '' end
           || case when household_phone and not phone_agree and not flat_agree then ',household_phone' else '' end
           || case when phone_mismatch then ',-phone_differs' else '' end as agreed_fields,
           adj_score as match_score
    from anchor_ranked_{{ k }}
    where rn = 1 and n_at_score = 1 and adj_score >= (select w.min_weight from w)
),
{% endfor %}

assigned as (
    {%- for k in range(1, passes + 1) %}
    select * from assigned_{{ k }}{% if not loop.last %} union all{% endif %}
    {%- endfor %}
),

unanchored as (
    select p.*
    from p
    left join anchored as a on a.record_ref = p.record_ref
    where a.record_ref is null and p.name_key is not null
),

-- 3. the rest, linked among themselves ------------------------------------------------------------
rest as (
    select u.*
    from unanchored as u
    left join assigned as s on s.record_ref = u.record_ref
    where s.record_ref is null
),

rest_phones as (
    select a.record_ref, a.name_key, r.ph
    from rest as a inner join record_phones as r on r.record_ref = a.record_ref
),

rest_candidates as (
    select distinct a_ref, b_ref from (
        select a.record_ref as a_ref, b.record_ref as b_ref
        from rest_phones as a
        inner join rest_phones as b on b.name_key = a.name_key and b.ph = a.ph and b.record_ref <> a.record_ref
        union all
        select a.record_ref, b.record_ref
        from rest as a
        inner join rest as b
            on b.name_key = a.name_key and b.estate_key = a.estate_key and b.building = a.building
           and b.unit = a.unit and b.room = a.room and b.record_ref <> a.record_ref
        union all
        select a.record_ref, b.record_ref
        from rest as a
        inner join rest as b
            on b.name_key = a.name_key and b.id_partial_hmac = a.id_partial_hmac and b.record_ref <> a.record_ref
        union all
        select a.record_ref, b.record_ref
        from rest as a
        inner join rest as b
            on b.name_key = a.name_key and b.id_body_hmac = a.id_body_hmac and b.record_ref <> a.record_ref
        union all
        select a.record_ref, b.record_ref
        from rest as a
        inner join rest as b
            on b.name_key = a.name_key and b.birth_date = a.birth_date and b.record_ref <> a.record_ref
    ) as c
),

rest_edges as (
    select c.a_ref, c.b_ref, nw.w_name,
           {{ idn_pair_features('a', 'b') }}
    from rest_candidates as c
    inner join rest as a on a.record_ref = c.a_ref
    inner join rest as b on b.record_ref = c.b_ref
    inner join name_weights as nw on nw.name_key = a.name_key
),

rest_links as (
    select * from (
        select e.a_ref, e.b_ref, e.phone_agree, e.flat_agree, e.partial_agree, e.birth_agree,
               {{ idn_pair_weight('e', 'w') }} as score,
               w.min_weight
        from rest_edges as e
        cross join w
        where not e.conflict
    ) as s
    where score >= min_weight
),

label_0 as (
    select record_ref, record_ref as lbl from rest
),
{% for i in range(1, rounds + 1) %}
label_{{ i }} as (
    select l.record_ref, least(l.lbl, coalesce(min(n.lbl), l.lbl)) as lbl
    from label_{{ i - 1 }} as l
    left join rest_links as e on e.a_ref = l.record_ref
    left join label_{{ i - 1 }} as n on n.record_ref = e.b_ref
    group by l.record_ref, l.lbl
),
{% endfor %}

rest_best_link as (
    select e.*, row_number() over (partition by e.a_ref order by e.score desc, e.b_ref asc) as rn
    from rest_links as e
),

linked as (
    select l.record_ref, l.lbl as cluster_ref,
           case when l.record_ref = l.lbl then 'founder' else 'probabilistic_link' end as match_rule,
           case when l.record_ref <> l.lbl then e.b_ref end as matched_record_ref,
           case when l.record_ref <> l.lbl then 'name'
               || case when e.phone_agree then ',phone' else '' end
               || case when e.flat_agree then ',flat' else '' end
               || case when e.partial_agree then ',id_partial' else '' end
               || case when e.birth_agree then ',birth_date' else '' end end as agreed_fields,
           case when l.record_ref <> l.lbl then e.score end as match_score
    from label_{{ rounds }} as l
    left join rest_best_link as e on e.a_ref = l.record_ref and e.rn = 1
),

-- records with no name and no valid ID (anonymous hotline callers): a resident of their own
nameless as (
    select p.record_ref, p.record_ref as cluster_ref, 'unmatched_nameless' as match_rule,
           cast(null as varchar) as matched_record_ref, cast(null as varchar) as agreed_fields,
           cast(null as double precision) as match_score
    from p
    left join anchored as a on a.record_ref = p.record_ref
    where a.record_ref is null and p.name_key is null and p.source_table <> 'dj_fwjl'
),

person_matches as (
    select record_ref, cluster_ref, match_rule, matched_record_ref, agreed_fields, match_score from anchored
    union all
    select record_ref, cluster_ref, match_rule, matched_record_ref, agreed_fields, match_score from assigned
    union all
    select record_ref, cluster_ref, match_rule, matched_record_ref, agreed_fields, match_score from linked
    union all
    select record_ref, cluster_ref, match_rule, matched_record_ref, agreed_fields, match_score from nameless
),

-- 5. title-only names with a phone: the one resident on that phone of that surname and sex
title_records as (
    select p.record_ref, p.title_surname, p.gender
    from nameless as n
    inner join p on p.record_ref = n.record_ref
    where p.title_surname is not null and p.gender is not null
),

title_candidates as (
    select
        t.record_ref,
        pm.cluster_ref,
        min(o.record_ref) as via_record_ref,
        max(case when o.gender = t.gender then 1 else 0 end) as sex_agrees
    from title_records as t
    inner join record_phones as tp on tp.record_ref = t.record_ref
    inner join record_phones as op on op.ph = tp.ph and op.record_ref <> t.record_ref
    inner join p as o on o.record_ref = op.record_ref
    inner join person_matches as pm on pm.record_ref = o.record_ref
    where o.name_key is not null
      and substr(o.name_key, 1, length(t.title_surname)) = t.title_surname
      and (o.gender is null or o.gender = t.gender)
    group by t.record_ref, pm.cluster_ref
),

title_links as (
    select record_ref, min(cluster_ref) as cluster_ref, min(via_record_ref) as via_record_ref
    from title_candidates
    group by record_ref
    having count(*) = 1 and max(sex_agrees) = 1
),

resident_matches as (
    select m.record_ref,
           coalesce(l.cluster_ref, m.cluster_ref) as cluster_ref,
           case when l.record_ref is not null then 'title_phone_link' else m.match_rule end as match_rule,
           coalesce(l.via_record_ref, m.matched_record_ref) as matched_record_ref,
           case when l.record_ref is not null then 'surname,sex,phone' else m.agreed_fields end as agreed_fields,
           m.match_score
    from person_matches as m
    left join title_links as l on l.record_ref = m.record_ref
),

-- 4. a party service record (dj_fwjl) names no one: it belongs to the resident of its member (dy_id);
--    an unknown member leaves it a resident of its own
service_records as (
    select u.record_ref, min(m.record_ref) as member_record_ref, min(pm.cluster_ref) as member_cluster_ref
    from p as u
    left join p as m
        on m.member_id = u.member_id and m.source_system = 'party' and m.source_table = 'dj_dy'
    left join person_matches as pm on pm.record_ref = m.record_ref
    where u.source_system = 'party' and u.source_table = 'dj_fwjl'
    group by u.record_ref
),

all_matches as (
    select record_ref, cluster_ref, match_rule, matched_record_ref, agreed_fields, match_score from resident_matches
    union all
    select record_ref,
           coalesce(member_cluster_ref, record_ref),
           case when member_cluster_ref is null then 'unmatched_member_unknown' else 'party_member_record' end,
           member_record_ref,
           case when member_cluster_ref is not null then 'dy_id' end,
           case when member_cluster_ref is not null then cast(100 as double precision) end
    from service_records
)

select
    p.record_ref,
    p.source_system,
    p.source_table,
    p.source_key,
    m.cluster_ref,
    m.match_rule,
    m.matched_record_ref,
    m.agreed_fields,
    -- the weight to 4 decimals and 1 / (1 + 2^-weight) to 6 (decisions above use the unrounded weight);
    -- deterministic rules carry 100 and probability 1
    cast(m.match_score as decimal(10, 4)) as match_score,
    cast(case when m.match_score >= 100 then 1.0
              when m.match_score is not null then 1 / (1 + power(2.0, -m.match_score)) end as decimal(8, 6))
        as match_probability
from p
inner join all_matches as m on m.record_ref = p.record_ref
