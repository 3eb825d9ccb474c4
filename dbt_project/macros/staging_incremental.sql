{#- Staging tables kept by changed key (incremental), equal to a full rebuild.

    A staging row is a function of its key's raw rows alone (macro latest_version: the newest version, less the
    rows the raw gate rejected). So a build need only recompute the keys whose raw rows or rejects changed:
      - keys with a raw row loaded since the newest _loaded_at the table holds, less a lookback
        (var staging_lookback_hours, default 72: a load that committed late, or a clock that stepped back);
      - keys with a row whose reject status changed since the last build: rejected now and not then, or
        released (rejected then, not now). The rejects a build saw are kept in staging_state.rejects_seen.
    The pre-hook deletes those keys' rows; the model selects those keys' latest versions (latest_version reads
    this config's meta) and appends them, in one transaction. A key that has no accepted row left is therefore
    gone, as in a full rebuild. `dbt build --full-refresh` (yiwang build --full-refresh) rebuilds from all raw.
    A changed model or macro would leave the rows built by the old code: such a model rebuilds itself in full
    (should_full_refresh below) when its code fingerprint (its SQL and the project's macros) differs from
    the one recorded by its last build in staging_state.code_fingerprints.

    Use: {{ config(**staging_incremental('grid', 'wg_sj', 'sjbh')) }} at the top of a staging model whose
    latest_version reads source('grid', 'wg_sj') with keys ['sjbh'] and whose source_key is clean_text('sjbh').
-#}
{% macro staging_incremental(system, table, key) -%}
    {%- set args = "'" ~ system ~ "', '" ~ table ~ "', '" ~ key ~ "'" -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'append',
        'on_schema_change': 'fail',
        'meta': {'changed_keys_of': [system, table, key]},
        'pre_hook': ["{{ staging_forget_changed_keys(" ~ args ~ ") }}"],
        'post_hook': [
            "{{ staging_remember_rejects(" ~ args ~ ") }}",
            "{{ staging_remember_code() }}",
        ],
    }) }}
{%- endmacro %}

{#- The newest _loaded_at this model holds, as a SQL literal; none on a first or full build. -#}
{% macro staging_watermark() -%}
    {%- if not execute or not is_incremental() -%}{{ return(none) }}{%- endif -%}
    {%- set newest = run_query("select cast(max(_loaded_at) as varchar) from " ~ this).columns[0].values()[0] -%}
    {{ return(none if newest is none else "cast('" ~ newest ~ "' as timestamp)") }}
{%- endmacro %}

{#- The keys (as latest_version partitions them: coalesce(clean key, '')) whose staging rows must be
    recomputed; column changed_key. -#}
{% macro staging_changed_keys(system, table, key) -%}
    {%- set raw = source(system, table) -%}
    {%- set part = "coalesce(" ~ clean_text(key) ~ ", '')" -%}
    {%- set since = staging_watermark() -%}
    {%- set rejects -%}
        select _row_hash from ops.raw_rejects where system = '{{ system }}' and table_name = '{{ table }}'
    {%- endset -%}
    {%- set seen -%}
        select _row_hash from staging_state.rejects_seen where model = '{{ this.identifier }}'
    {%- endset %}
    select {{ part }} as changed_key from {{ raw }}
    {%- if since is not none %}
    where _loaded_at > {{ since }} - interval '{{ var("staging_lookback_hours", 72) | int }} hours'
    {%- endif %}
    union
    select {{ part }} as changed_key from {{ raw }}
    where _row_hash in (
        ({{ rejects }} except {{ seen }})
        union
        ({{ seen }} except {{ rejects }})
    )
{%- endmacro %}

{% macro staging_forget_changed_keys(system, table, key) -%}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where source_key in (select changed_key from ({{ staging_changed_keys(system, table, key) }}) as c)
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}

{#- on-run-start (dbt_project.yml): once per dbt command, not per model (PostgreSQL's `create schema if not
    exists` fails when two threads race on it). -#}
{% macro staging_state_ddl() -%}
    create schema if not exists staging_state;
    create table if not exists staging_state.rejects_seen (model varchar not null, _row_hash varchar not null);
    create table if not exists staging_state.code_fingerprints (model varchar not null, fingerprint varchar not null)
{%- endmacro %}

{#- This model's code as it builds: its SQL and the project's macros (a macro change may change any model's
    output; yiwang.dbt_runner.dbt_env passes their digest as YIWANG_DBT_MACROS_DIGEST). -#}
{% macro staging_code_fingerprint() -%}
    {{ return(local_md5(model.raw_code ~ '|' ~ env_var('YIWANG_DBT_MACROS_DIGEST', 'unknown'))) }}
{%- endmacro %}

{% macro staging_remember_code() -%}
    delete from staging_state.code_fingerprints where model = '{{ this.identifier }}';
    insert into staging_state.code_fingerprints (model, fingerprint)
    values ('{{ this.identifier }}', '{{ staging_code_fingerprint() }}')
{%- endmacro %}

{#- True for a staging_incremental model whose last build ran other code (or left no fingerprint). -#}
{% macro staging_code_changed() -%}
    {%- if not execute -%}{{ return(false) }}{%- endif -%}
    {%- set meta = config.get('meta') -%}
    {%- if not (meta is mapping and meta.get('changed_keys_of')) -%}{{ return(false) }}{%- endif -%}
    {%- set found = run_query("select count(*) from information_schema.tables where table_schema = 'staging_state'"
        ~ " and table_name = 'code_fingerprints'").columns[0].values()[0] -%}
    {%- if found | int == 0 -%}{{ return(true) }}{%- endif -%}
    {%- set stored = run_query("select fingerprint from staging_state.code_fingerprints where model = '"
        ~ this.identifier ~ "'").columns[0].values() -%}
    {{ return(stored | length != 1 or stored[0] != staging_code_fingerprint()) }}
{%- endmacro %}

{#- dbt's own rule (the full_refresh config, else the --full-refresh flag), and a staging_incremental model
    rebuilds in full when its code changed since its last build. Overrides dbt's should_full_refresh, which
    is_incremental() and the incremental materialisation both ask. -#}
{% macro should_full_refresh() -%}
    {%- set configured = config.get('full_refresh') -%}
    {%- if configured is none -%}{%- set configured = flags.FULL_REFRESH -%}{%- endif -%}
    {{ return(configured or staging_code_changed()) }}
{%- endmacro %}

{#- What the next build compares the rejects with: this build's, for this model. -#}
{% macro staging_remember_rejects(system, table, key) -%}
    delete from staging_state.rejects_seen where model = '{{ this.identifier }}';
    insert into staging_state.rejects_seen (model, _row_hash)
    select distinct '{{ this.identifier }}', _row_hash from ops.raw_rejects
    where system = '{{ system }}' and table_name = '{{ table }}'
{%- endmacro %}

{#- The predicate latest_version adds when its model is a staging_incremental one being built incrementally. -#}
{% macro staging_changed_only(relation, part) -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set meta = config.get('meta') -%}
    {%- set of = meta.get('changed_keys_of') if meta is mapping else none -%}
    {%- if not of or not is_incremental() -%}{{ return('') }}{%- endif -%}
    {%- set expected = source(of[0], of[1]) -%}
    {%- if relation.schema != expected.schema or relation.identifier != expected.identifier
          or part | length != 1 or part[0] != "coalesce(" ~ clean_text(of[2]) ~ ", '')" -%}
        {{ exceptions.raise_compiler_error("staging_incremental(" ~ of | join(', ') ~ ") does not match this model's"
            ~ " latest_version(" ~ relation ~ ", keys " ~ part | join(', ') ~ ")") }}
    {%- endif -%}
    and {{ part[0] }} in (select changed_key from ({{ staging_changed_keys(of[0], of[1], of[2]) }}) as c)
{%- endmacro %}
