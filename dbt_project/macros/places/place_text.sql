{#- Place texts: grid names, community names, addresses, estate names.
    Patterns are shared by both engines (RE2 / PostgreSQL ARE common subset). -#}

{%- macro _num_class() -%}[0-9０-９〇零一二两三四五六七八九十]{%- endmacro -%}

{#- "前进社区第3网格" / "第3网格" / "三网格" / "前进社区3网格": group 1 = community text (or NULL),
    group 2 = the grid number text. A 15-digit code is handled by grid_code_in_text. -#}
{% macro grid_text_pattern() -%}
    ^(?:(.*(?:社区|居委会|居民委员会|村委会|村)))?第?({{ _num_class() }}+)号?网格$
{%- endmacro %}

{#- Community text -> its core name: "前进社区" / "前进社区居委会" / "前进居委会" /
    "前进社区居民委员会" -> "前进". Blank -> NULL. -#}
{% macro community_core(expr) -%}
    nullif(regexp_replace(regexp_replace({{ clean_text(expr) }}, '(居民委员会|居委会|委员会)$', ''), '社区$', ''), '')
{%- endmacro %}

{#- Address split. Pattern A: "...友育华庭3栋2单元501室" (also 幢/号楼/座, Chinese numerals, a tail
    like "附近"); pattern B: "...友育华庭3-2-501". Groups: 1 place text before the building,
    2 building, 3 unit, 4 room. -#}
{% macro address_pattern_a() -%}
    ^(.*[^0-9０-９〇零一二两三四五六七八九十])({{ _num_class() }}+)(?:栋|幢|号楼|座)(?:({{ _num_class() }}+)单元)?(?:({{ _num_class() }}+)(?:室|号)?)?
{%- endmacro %}
{% macro address_pattern_b() -%}
    ^(.*[^0-9０-９〇零一二两三四五六七八九十-])([0-9０-９]+)-([0-9０-９]+)-([0-9０-９]+)
{%- endmacro %}
{#- Building-only text ("3栋2单元501", "3-2-501", "三栋"): groups 1 building, 2 unit, 3 room. -#}
{% macro dwelling_pattern() -%}
    ^({{ _num_class() }}+)(?:栋|幢|号楼|座|-)(?:({{ _num_class() }}+)(?:单元|-))?(?:({{ _num_class() }}+)(?:室|号)?)?
{%- endmacro %}

{#- Room number: digit-by-digit numerals ("五〇一" -> "501"), digits kept as text. -#}
{% macro room_text(expr) -%}
    {{ cn_digits_to_ascii(expr) }}
{%- endmacro %}

{#- Leading province text ("湖北省", "广西壮族自治区") removed; city and district prefixes are
    removed in the models with the division names of the reference data. -#}
{% macro strip_province(expr) -%}
    regexp_replace({{ expr }}, '^[^省]{2,7}(?:省|自治区)', '')
{%- endmacro %}

{#- Estate name -> match key shared by all its spellings: property-file names ("友育华庭一期"),
    aliases in addresses ("友育小区" for 友育华庭 / "友育花园小区" for 友育小区), yard aliases
    ("解放路12号" for 解放路12号院), tower aliases ("X大楼" for X大厦). The key is the core name
    plus a kind marker (R residential, Y yard, T tower), so a tower and an estate with the same
    core never meet. NULL when the text is blank. -#}
{% macro estate_match_key(expr) -%}
    {%- set v = "regexp_replace(regexp_replace(" ~ clean_text(expr) ~ ", '[[:space:]]', '', 'g'), '[一二三四五六七八九十0-9]期$', '')" -%}
    (case
        when {{ v }} = '' then null
        when {{ regex_like(v, '(?:大厦|大楼|大廈)$') }}
            then regexp_replace({{ v }}, '(?:大厦|大楼|大廈)$', '') || '#T'
        when {{ regex_like(v, '[0-9]+号院?$') }}
            then regexp_replace({{ v }}, '院$', '') || '#Y'
        else coalesce(nullif(regexp_replace({{ v }}, '(?:花园小区|小区|花园|家园|新村|嘉园|雅居|华庭|名都|公寓|苑|名苑|山庄|新城|社区)$', ''), ''), {{ v }}) || '#R'
    end)
{%- endmacro %}

{#- Persistent opaque keys (never derived from personal data). -#}
{% macro opaque_key(prefix, expr) -%}
    '{{ prefix }}' || upper(substr(md5('{{ prefix }}|' || {{ expr }}), 1, 16))
{%- endmacro %}
