{#- Place texts: grid names, community names, addresses, estate names.
    Patterns are shared by both engines (RE2 / PostgreSQL ARE common subset). -#}

{#- ONE normaliser for each kind of place text, used by every model (places, residents, demands):
      place_clean          any place text: blanks, full-width digits / letters / dashes / brackets
      community_core       community (and village) names -> the core both a record and the divisions reference reduce to
      address_clean        addresses -> one canonical text, house numbers as digits in the form "3栋2单元501"
      address_flat_pattern the split of an address_clean text into place text / building / unit / room
      strip_admin_prefix   leading province / city / district / street / community names (by their suffixes)
      estate_name_norm, estate_kind, estate_core   estate names (see below)
    Patterns are shared by both engines (RE2 / PostgreSQL ARE common subset). Nothing here names a place of
    one city: division, estate and alias names come from the city's reference data in the models. -#}

{%- macro _num_class() -%}[0-9〇零一二两三四五六七八九十百]{%- endmacro -%}

{#- Full-width digits, letters, dashes and brackets to ASCII, every blank removed; blank -> NULL. -#}
{% macro place_clean(expr) -%}
    nullif({{ regex_replace_all(translate_chars(clean_text(expr), '０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ－—–―‐（）＃', '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-----()#'), '[[:space:]　]', '') }}, '')
{%- endmacro %}

{#- "前进社区第3网格" / "第3网格" / "三网格" / "前进社区3网格" / "前进村第3网格": group 1 = community text (or
    NULL), group 2 = the grid number text. A 15-digit code is handled by grid_code_in_text. -#}
{% macro grid_text_pattern() -%}
    ^(?:(.*(?:社区|居委会|居民委员会|村委会|村)))?第?({{ _num_class() }}+)号?网格$
{%- endmacro %}

{#- Community (社区 / 居委会) or village (村 / 村委会) text -> its core name. Every administrative spelling
    of one community meets: "前进社区" / "前进社区居委会" / "前进居委会" / "前进社区居民委员会" /
    "前进社区居民委员会（党委）" -> "前进"; "前进村" / "前进村委会" / "前进村民委员会" -> "前进". Leading
    province / city / district / street names are removed first ("湖北省江城市武昌区前进街道前进社区" ->
    "前进"), each only when at least two characters are left. Blank -> NULL. -#}
{% macro community_core(expr) -%}
    nullif({{ strip_admin_prefix(
        "regexp_replace(regexp_replace(regexp_replace(" ~ place_clean(expr) ~ ", '[(][^)]*[)]$', ''),
            '(..)(?:社区居民委员会|社区居委会|居民委员会|居委会|村民委员会|村委会|委员会)$', '\\1'),
            '(..)(?:社区|村)$', '\\1')",
        levels=['province', 'city', 'district', 'street']) }}, '')
{%- endmacro %}

{#- Leading administrative names of the given levels, each removed only when at least two characters stay:
    province (…省 / …自治区), city (…市), district (…区 / …县), street (…街道 / …镇 / …乡), community
    (…社区 / …居委会 / …村委会 and their long forms). Models remove the city, district and street names of
    the reference divisions first and use only province and community here, as an estate name may hold 市 /
    区 / 镇 ("城市花园"); community names use every level but community. -#}
{% macro strip_admin_prefix(expr, levels=['province', 'city', 'district', 'street', 'community']) -%}
    {%- set patterns = {
        'province': '[^省]{2,7}(?:省|自治区)',
        'city': '[^省市区县]{1,6}市',
        'district': '[^省市区县]{1,6}(?:区|县)',
        'street': '[^省市区县道镇乡]{1,8}(?:街道办事处|街道|镇|乡)',
        'community': '[^社委村路街巷号]{1,10}(?:社区居民委员会|社区居委会|村民委员会|村委会|居民委员会|居委会|社区)'} -%}
    {%- set ns = namespace(v=expr) -%}
    {%- for level in levels -%}
        {%- set ns.v = "regexp_replace(" ~ ns.v ~ ", '^" ~ patterns[level] ~ "(..)', '\\1')" -%}
    {%- endfor -%}
    {{ ns.v }}
{%- endmacro %}

{#- Address -> canonical text: place_clean, then the house number in any of its forms rewritten as
    "<place text>3栋2单元501" with Arabic numerals: 3栋2单元501室, 3幢2单元501, 3号楼2单元501室, 3座2门501,
    3-2-501, 三栋二单元五〇一, 十二栋一单元一〇一, 一百零二栋 (unit and room optional: "3栋", "3栋501";
    a tail after the room, "室" / "附近", dropped). Text without a house number is only cleaned. -#}
{% macro address_clean(expr) -%}
    {%- set n = _num_class() -%}
    {%- set pa = '^(.*[^' ~ n[1:-1] ~ '])?(' ~ n ~ '+)(?:栋|幢|号楼|座)(?:(' ~ n ~ '+)(?:单元|门))?(?:(' ~ n ~ '+)(?:室|号|房)?)?' -%}
    {%- set pb = '^(.*[^0-9-])?([0-9]+)-([0-9]+)-([0-9]+)' -%}
    {#- each pattern's groups from one regex run (rx_groups), bound once (let_in) -#}
    {%- set ga = let_in(rx_groups('__adr', pa, 4), "coalesce(" ~ rx_group('__ga', 1) ~ ", '')
            || " ~ cn_number_text(rx_group('__ga', 2)) ~ " || '栋'
            || coalesce(" ~ cn_number_text(rx_group('__ga', 3)) ~ " || '单元', '')
            || coalesce(" ~ cn_number_text(rx_group('__ga', 4)) ~ ", '')", '__ga') -%}
    {%- set gb = let_in(rx_groups('__adr', pb, 4), "coalesce(" ~ rx_group('__gb', 1) ~ ", '')
            || " ~ rx_group('__gb', 2) ~ " || '栋' || " ~ rx_group('__gb', 3) ~ " || '单元'
            || " ~ rx_group('__gb', 4), '__gb') -%}
    {{ let_in(place_clean(expr), "(case
        when " ~ regex_like('__adr', pa) ~ " then " ~ ga ~ "
        when " ~ regex_like('__adr', pb) ~ " then " ~ gb ~ "
        else __adr
    end)", '__adr') }}
{%- endmacro %}

{#- Split of an address_clean text: group 1 the place text before the house number (NULL when none),
    2 building, 3 unit, 4 room (each optional after the building). No match: no house number. -#}
{% macro address_flat_pattern() -%}
    ^(.*[^0-9])?([0-9]+)栋(?:([0-9]+)单元)?([0-9]+)?$
{%- endmacro %}

{#- Estate names. The vocabulary below is the generic one of Chinese real-estate names (what a name ends
    with whatever the city), not any city's list of estates; which names are aliases of which estate is
    decided in the models from the city's own property files (int_place_addresses_parsed): an exact name,
    a name whose core is the core of exactly one estate delivered, or a core that is the beginning of
    exactly one estate's name (in the community named, else in the city).
      estate_name_norm  cleaned, a phase or part in brackets or at the end gone ("友育华庭一期",
                        "友育华庭（二期）", "友育华庭3期" -> 友育华庭), a numbered compound's 院 gone
                        ("解放路12号院" -> 解放路12号)
      estate_kind       Y a numbered compound (…12号), T an office building (大厦 / 大楼 / 广场 / 中心 / …),
                        R a residential estate
      estate_core       the norm without up to two generic suffixes ("友育花园小区" -> 友育), never shorter
                        than two characters -#}
{% macro _estate_generic_suffixes() -%}
    (?:小区|住宅小区|花园|家园|新村|新苑|新城|新居|公寓|山庄|别墅|嘉园|雅苑|雅居|雅园|名苑|名居|名都|名城|名邸|华庭|华府|华苑|公馆|府邸|豪庭|御府|苑|园|庭|府|邸|居|城|湾|里|坊|大厦|大楼|大廈|广场|中心|写字楼|商务楼|商厦|社区)$
{%- endmacro %}

{% macro estate_name_norm(expr) -%}
    nullif(regexp_replace(regexp_replace(regexp_replace({{ place_clean(expr) }},
        '[(][^)]*[)]$', ''),
        '(?:[0-9]+|[一二三四五六七八九十]+)(?:期|区)$', ''),
        '([0-9]+)号院$', '\1号'), '')
{%- endmacro %}

{% macro estate_kind(norm) -%}
    (case
        when {{ regex_like(norm, '[0-9]+号$') }} then 'Y'
        when {{ regex_like(norm, '(?:大厦|大楼|大廈|广场|中心|写字楼|商务楼|商厦)$') }} then 'T'
        else 'R'
    end)
{%- endmacro %}

{% macro estate_core(norm) -%}
    regexp_replace(regexp_replace({{ norm }}, '(..){{ _estate_generic_suffixes() }}', '\1'), '(..){{ _estate_generic_suffixes() }}', '\1')
{%- endmacro %}

{#- Persistent opaque keys (never derived from personal data). -#}
{% macro opaque_key(prefix, expr) -%}
    '{{ prefix }}' || upper(substr(md5('{{ prefix }}|' || {{ expr }}), 1, 16))
{%- endmacro %}
