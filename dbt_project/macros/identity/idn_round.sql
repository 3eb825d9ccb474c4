{#- A double rounded to 12 decimals on both engines (PostgreSQL has no round(double precision, int)): learnt
    figures summed in an engine-chosen order come out the same on every rebuild. -#}
{% macro idn_round12(x) -%}
    cast(round(cast({{ x }} as decimal(38, 18)), 12) as double precision)
{%- endmacro %}
