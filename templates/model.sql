[#- Renders one incremental model. This template uses square-bracket delimiters, so the
    dbt Jinja below is written verbatim. Every decision is made in Rust (src/render/model.rs); this
    only lays out text. -#]
{# [[ marker ]] from [[ spec_path ]] (model [[ name ]]).
   Do not edit by hand: change the spec and run `dbt-incr generate`.
   settings: [[ settings ]] #}
{{
    config(
[%- for entry in config %]
        [[ entry.key ]]=[[ entry.value ]][% if not loop.last %],[% endif %]
[%- endfor %]
    )
}}

{#- dbt unit tests can override only what a model calls itself, so is_incremental() and var()
    are called here and their results handed to the dbt_incr macros. #}
{%- set incremental = is_incremental() %}
{%- set backfill_start = var('backfill_start', none) %}
{%- set backfill_end = var('backfill_end', none) %}
{{- dbt_incr_check_backfill_vars(backfill_start, backfill_end) }}
[%- if microbatch %]
{%- if execute and backfill_start is not none %}
{{- exceptions.raise_compiler_error("dbt_incr: [[ name ]] is a microbatch model; re-process a window with dbt's own flags: dbt run -s [[ name ]] --event-time-start 2024-01-01 --event-time-end 2024-02-01") }}
{%- endif %}
[%- if columns %]
{%- set columns = [[ columns ]] %}
[%- endif %]

{#- microbatch: dbt runs this once per [[ batch_size ]] of [[ event_time ]] and replaces that
    batch; the filter below keeps a batch to its own window even when the input has no
    event_time config. Late rows count only if their batch is re-run: see docs/strategies.md. #}
with source_rows as (

    select
        [[ select_list ]]
    from {{ [[ from ]] }}
    where {{ dbt_incr_in_window('[[ event_time ]]', model.batch.event_time_start.strftime('%Y-%m-%d %H:%M:%S'), model.batch.event_time_end.strftime('%Y-%m-%d %H:%M:%S')) | indent(6) }}
      and [[ load_time ]] is not null

)[% if dedup %],[% endif %]
[%- else %]
{%- set backfill = incremental and backfill_start is not none %}
[%- if not dedup %]
{%- if backfill %}
{{- exceptions.raise_compiler_error("dbt_incr: [[ name ]] is append-only (no unique_key), so a backfill would append its window a second time; rebuild it with --full-refresh instead") }}
{%- endif %}
[%- endif %]
{%- set watermark = dbt_incr_watermark(this, '[[ load_time ]]', [[ lookback_amount ]], '[[ lookback_unit ]]') if incremental and not backfill else none %}
[%- if columns %]
{%- set columns = [[ columns ]] %}
[%- elif dedup %]
{#- No `columns` in the spec: keep every column of the source, read at run time. #}
{%- set columns = adapter.get_columns_in_relation([[ from ]]) | map(attribute='name') | list if execute else [] %}
{#- In a dbt unit test the input is a fixture CTE whose columns cannot be read: none is fine. #}
{%- if execute and columns | length == 0 and model.resource_type != 'unit_test' %}
{{- exceptions.raise_compiler_error("dbt_incr: [[ name ]] reads the columns of " ~ [[ from ]] ~ " at run time and found none (a materialized view, or no privilege on its columns?); list them under `columns` in the spec") }}
{%- endif %}
[%- endif %]

with source_rows as (

    select
        [[ select_list ]]
    from [% if dedup %]{% if backfill %}(select * from {{ [[ from ]] }}) as dbt_incr_source{% else %}{{ [[ from ]] }}{% endif %}[% else %]{{ [[ from ]] }}[% endif %]
    {%- if backfill %}
    -- backfill: every version of each key with a row whose [[ window_column ]] lies in
    -- [backfill_start, backfill_end), so the dedup picks what a full refresh would
    where {{ dbt_incr_keys_in_window([[ from ]], 'dbt_incr_source', [[ unique_key ]], '[[ window_column ]]', backfill_start, backfill_end) | indent(4) }}
      and [[ load_time ]] is not null
    {%- elif incremental %}
    -- incremental: rows loaded after the target's newest [[ load_time ]] minus [[ lookback ]]
    where [[ load_time ]] > {{ watermark | indent(4) }}
    {%- else %}
    -- full refresh: every row with a [[ load_time ]]; no branch keeps a row without one, as
    -- no incremental window can hold it
    where [[ load_time ]] is not null
    {%- endif %}

)[% if dedup %],[% endif %]
[%- endif %]
[%- if dedup %]

latest as (

    -- one row per [[ unique_key_text ]]: the latest [[ load_time ]], ties broken by [[ tie_breaker_text ]]
    {{ dbt_incr_latest_per_key('source_rows', [[ unique_key ]], '[[ load_time ]]', columns[% if tie_breaker %], [[ tie_breaker ]][% endif %]) | indent(4) }}

)

select *
from latest
[%- if not microbatch %]
{%- if incremental %}
-- never replace a target row with an older version of the same key
where {{ dbt_incr_keep_newest('latest', this, [[ unique_key ]], '[[ load_time ]]', watermark) }}
{%- endif %}
[%- endif %]
[%- else %]

-- no unique_key: every source row is a fact of its own and is kept as loaded
select *
from source_rows
[%- endif %]
