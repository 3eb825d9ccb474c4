{#- Names, gender, ethnicity. -#}

{#- Traditional -> simplified by character (table generated from OpenCC, see
    scripts/gen_t2s.py; 於/乾/徵 deliberately kept). -#}
{% macro to_simplified(expr) -%}
    {{ return(adapter.dispatch('to_simplified', 'yiwang')(expr)) }}
{%- endmacro %}
{% macro default__to_simplified(expr) -%}
    {#- translate() with a 4,102-character map costs ~0.2 ms a row; a name with no traditional character
        (nearly all of them) skips it after one regex test, ~1000x faster over a whole table -#}
    {{ let_in(expr,
        "case when " ~ regex_like('t2s_value', '[' ~ t2s_from() ~ ']')
        ~ " then translate(t2s_value, '" ~ t2s_from() ~ "', '" ~ t2s_to() ~ "') else t2s_value end",
        't2s_value') }}
{%- endmacro %}
{#- DuckDB: the value written out where it is used (let_inline): the 4,102-character class in a lambda body
    would cost more than the repeated value. -#}
{% macro duckdb__to_simplified(expr) -%}
    {{ let_inline(expr,
        "case when " ~ regex_like('t2s_value', '[' ~ t2s_from() ~ ']')
        ~ " then translate(t2s_value, '" ~ t2s_from() ~ "', '" ~ t2s_to() ~ "') else t2s_value end",
        't2s_value') }}
{%- endmacro %}

{#- Person name: trim (incl. ideographic space), drop a trailing role suffix in ASCII or
    full-width brackets ("张三（书记）", "李四(主任)"), remove inner whitespace, unify the
    middle-dot variants of minority names (· ・ • ‧ ･ ． . 。) to U+00B7 "·", then
    traditional -> simplified. Blank -> NULL. -#}
{% macro clean_person_name(expr) -%}
    nullif({{ to_simplified(translate_chars(
        regex_replace_all(regex_replace_all(clean_text(expr), '[（(][^（()）]*[）)]$', ''), '[[:space:]　]', ''),
        '・•‧･．.。∙', '········')) }}, '')
{%- endmacro %}

{#- 男/1/M/male -> 'M', 女/2/F/female -> 'F', else NULL. -#}
{% macro normalize_gender(expr) -%}
    (case upper({{ clean_text(expr) }})
        when '男' then 'M' when '1' then 'M' when 'M' then 'M' when 'MALE' then 'M' when '男性' then 'M'
        when '女' then 'F' when '2' then 'F' when 'F' then 'F' when 'FEMALE' then 'F' when '女性' then 'F'
    end)
{%- endmacro %}

{#- Ethnicity to its full name with 族: GB/T 3304 two-digit codes ("01" -> 汉族),
    bare names ("汉" -> 汉族), full names kept. -#}
{% macro normalize_ethnicity(expr) -%}
    {%- set names = ['汉族', '蒙古族', '回族', '藏族', '维吾尔族', '苗族', '彝族', '壮族', '布依族', '朝鲜族',
        '满族', '侗族', '瑶族', '白族', '土家族', '哈尼族', '哈萨克族', '傣族', '黎族', '傈僳族',
        '佤族', '畲族', '高山族', '拉祜族', '水族', '东乡族', '纳西族', '景颇族', '柯尔克孜族', '土族',
        '达斡尔族', '仫佬族', '羌族', '布朗族', '撒拉族', '毛南族', '仡佬族', '锡伯族', '阿昌族', '普米族',
        '塔吉克族', '怒族', '乌孜别克族', '俄罗斯族', '鄂温克族', '德昂族', '保安族', '裕固族', '京族', '塔塔尔族',
        '独龙族', '鄂伦春族', '赫哲族', '门巴族', '珞巴族', '基诺族'] -%}
    {%- set v = clean_text(expr) -%}
    (case
        when {{ v }} is null then null
        when {{ regex_like(v, '^[0-9]{1,2}$') }} then
            case lpad({{ v }}, 2, '0')
            {%- for n in names %}
                when '{{ '%02d' % loop.index }}' then '{{ n }}'
            {%- endfor %}
            end
        when {{ v }} like '%族' then {{ v }}
        else {{ v }} || '族'
    end)
{%- endmacro %}
