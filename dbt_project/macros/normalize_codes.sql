{#- Small value normalisers shared by staging models. -#}

{#- Satisfaction: "5"/"3"/"1" -> 满意/基本满意/不满意; other values pass through trimmed so
    accepted_values tests can flag them. -#}
{% macro normalize_satisfaction(expr) -%}
    (case {{ clean_text(expr) }}
        when '5' then '满意' when '3' then '基本满意' when '1' then '不满意'
        else {{ clean_text(expr) }}
    end)
{%- endmacro %}

{#- true/false, 1/0, t/f, y/n, yes/no, 是/否, 有/无 -> boolean; anything else NULL. -#}
{% macro to_bool(expr) -%}
    (case lower({{ clean_text(expr) }})
        when 'true' then true when 't' then true when '1' then true when 'y' then true
        when 'yes' then true when '是' then true when '有' then true when '已成立' then true when '已建立' then true
        when 'false' then false when 'f' then false when '0' then false when 'n' then false
        when 'no' then false when '否' then false when '无' then false when '未成立' then false when '未建立' then false
    end)
{%- endmacro %}

{#- Integer from text ("12", "12.0", " １２ "), NULL when not a whole number. -#}
{% macro to_int(expr) -%}
    {%- set v = "trim(" ~ translate_chars(expr, '０１２３４５６７８９－', '0123456789-') ~ ")" -%}
    (case when {{ regex_like(v, '^-?[0-9]{1,9}(\\.0+)?$') }}
          then cast({{ regex_extract(v, '^(-?[0-9]{1,9})', 1) }} as integer) end)
{%- endmacro %}

{#- Decimal number from text, NULL when not numeric. -#}
{% macro to_decimal(expr, precision=18, scale=6) -%}
    {%- set v = "trim(" ~ translate_chars(expr, '０１２３４５６７８９－．', '0123456789-.') ~ ")" -%}
    (case when {{ regex_like(v, '^-?[0-9]{1,12}(\\.[0-9]+)?$') }}
          then cast({{ v }} as numeric({{ precision }}, {{ scale }})) end)
{%- endmacro %}

{#- Unified social credit code (GB 32100): uppercase, no spaces; NULL unless 18 chars. -#}
{% macro normalize_uscc(expr) -%}
    {%- set v = "upper(" ~ regex_replace_all(clean_text(expr), '[[:space:]]', '') ~ ")" -%}
    (case when {{ regex_like(v, '^[0-9A-Z]{18}$') }} then {{ v }} end)
{%- endmacro %}

{#- Legacy 9-char organisation code (12345678-9 / 123456789) as XXXXXXXX-X, else NULL. -#}
{% macro legacy_org_code(expr) -%}
    {%- set v = "upper(" ~ regex_replace_all(clean_text(expr), '[[:space:]-]', '') ~ ")" -%}
    (case when {{ regex_like(v, '^[0-9A-Z]{8}[0-9X]$') }} then substr({{ v }}, 1, 8) || '-' || substr({{ v }}, 9, 1) end)
{%- endmacro %}

{#- A 15-digit grid code found anywhere in a grid text (wgmc), else NULL. -#}
{% macro grid_code_in_text(expr) -%}
    {{ regex_extract(expr, '(?:^|[^0-9])([0-9]{15})(?:$|[^0-9])', 1) }}
{%- endmacro %}

{#- JSON array text ["A","B"] (or A,B) -> 'A,B' (no quotes/brackets/spaces), NULL when empty. -#}
{% macro json_array_to_csv(expr) -%}
    nullif({{ regex_replace_all(regex_replace_all(expr, '[][" ]', ''), ',+', ',') }}, '')
{%- endmacro %}

{#- Latest version per key from an append-only raw table.
    keys: list of key column names (compared trimmed; a blank key part counts as '' except
    when every part is blank - those rows are dropped, the connectors quarantine them).
    cursor: the cursor column (parsed as a local timestamp) or none; newest wins, then the
    latest _loaded_at, then (files) the greater _source_file, then _row_hash for determinism.
    file: for file deliveries, delivery order decides within one file path: only the versions
    of a key that the path's latest delivery of it carries are candidates (a file sent as A,
    corrected to B and reverted to A ends with A's rows, whatever B's cursor said); across
    files, the cursor decides as above.
    rejects_of: the raw source relation whose ops.raw_rejects apply, when `relation` is a CTE over
    it (a CTE has no schema or identifier to name the system and table by). -#}
{% macro latest_version(relation, keys, cursor=none, file=false, key_exprs=none, rejects_of=none) -%}
    {%- set raw = rejects_of if rejects_of is not none else relation -%}
    {%- if raw is string -%}
        {{ exceptions.raise_compiler_error("latest_version: pass rejects_of=source(...) when the relation is a CTE ("
            ~ raw ~ "); without it the rows a raw gate rejected would reach staging") }}
    {%- endif -%}
    {#- a dbt unit test stands its given rows in for the source as a CTE without a schema: no rejects there -#}
    {%- set has_rejects = raw.schema and raw.identifier -%}
    {%- set kx = key_exprs if key_exprs else [] -%}
    {%- if not key_exprs -%}{%- for k in keys -%}{%- do kx.append(clean_text(k)) -%}{%- endfor -%}{%- endif -%}
    {%- set order = ['_cursor_ts desc nulls last', '_loaded_at desc nulls last'] -%}
    {%- if file -%}{%- do order.append('_source_file desc nulls last') -%}{%- endif -%}
    {%- do order.append('_row_hash desc nulls last') -%}
    {%- set part = [] -%}{%- for k in kx -%}{%- do part.append("coalesce(" ~ k ~ ", '')") -%}{%- endfor %}
    select * from (
        select
            v.*,
            row_number() over (
                partition by {{ part | join(', ') }}
                order by {{ order | join(', ') }}
            ) as _version_rank
        from (
            select * from (
                select
                    r.*,
                    {{ parse_local_ts(cursor) if cursor else 'cast(null as timestamp)' }} as _cursor_ts
                    {%- if file %},
                    max(r._loaded_at) over (partition by {{ part | join(', ') }}, r._source_file) as _path_latest_at
                    {%- endif %}
                from {{ relation }} as r
                where coalesce({{ kx | join(', ') }}) is not null
                  {{ staging_changed_only(raw, part) }}
                  {%- if has_rejects %}
                  -- rows a raw gate rejected (and quarantined) after landing do not reach staging
                  and not exists (
                      select 1 from ops.raw_rejects as x
                      where x.system = '{{ raw.schema | replace("raw_", "", 1) }}'
                        and x.table_name = '{{ raw.identifier }}'
                        and x._row_hash = r._row_hash
                  )
                  {%- endif %}
            ) as w
            {%- if file %}
            where (_loaded_at = _path_latest_at or _path_latest_at is null)  -- a path's older deliveries give way
            {%- endif %}
        ) as v
    ) as versions
    where _version_rank = 1
{%- endmacro %}
