{#- On-time status of a grid event against its 限时办结 deadline (clsx) as of a snapshot (the end of the as-of day):
    closed_as_of is the closure time when before the snapshot, else NULL. One rule for governance_events and
    int_points_units (see docs/marts.md, "Governance"). -#}
{% macro grid_event_on_time_status(closed_as_of, deadline_at, snapshot_at) -%}
case
    when {{ closed_as_of }} is not null and {{ deadline_at }} is null then 'no_deadline'
    when {{ closed_as_of }} is not null and {{ closed_as_of }} <= {{ deadline_at }} then 'on_time'
    when {{ closed_as_of }} is not null then 'overdue'
    when {{ deadline_at }} is null then 'no_deadline'
    when {{ deadline_at }} < {{ snapshot_at }} then 'overdue'
    else 'open'
end
{%- endmacro %}
