{#- Generic tests used by the catalog / governance / points marts. -#}

{#- The combination of `columns` is unique (NULLs compare equal, so a NULL dimension counts as one value). -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}

{#- points_rules: (rule_id, version) unique; versions of one rule never overlap in time; valid_to >= valid_from. -#}
{% test points_rules_versions_do_not_overlap(model) %}
select a.rule_id, a.version, b.version as other_version
from {{ model }} as a
join {{ model }} as b
  on a.rule_id = b.rule_id
 and (a.version <> b.version or a.valid_from <> b.valid_from)
 and a.valid_from <= coalesce(b.valid_to, cast('9999-12-31' as date))
 and b.valid_from <= coalesce(a.valid_to, cast('9999-12-31' as date))
 and (a.version < b.version or (a.version = b.version and a.valid_from < b.valid_from))
union all
select rule_id, version, version
from {{ model }}
where valid_to < valid_from
union all
select rule_id, version, count(*)
from {{ model }}
group by rule_id, version
having count(*) > 1
{% endtest %}
