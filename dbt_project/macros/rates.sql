{#- A rate: numerator per `per` of the denominator (per='1.0' a share, '100.0' per hundred), NULL when the
    denominator is 0 or NULL. The one form of every rate in the marts, and of both sides of a two-group
    comparison (demands_timeliness_comparison, property_mechanism_comparison): each group's pooled rate is
    rate(sum of its numerators, sum of its denominators). -#}
{% macro rate(numerator, denominator, per='1.0') -%}
    case when {{ denominator }} > 0 then {{ numerator }} * {{ per }} / {{ denominator }} end
{%- endmacro %}
