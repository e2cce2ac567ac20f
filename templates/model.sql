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
    are called here and their results handed to the dbt_incr macros. The var dbt_incr_full_refresh
    compiles the full-refresh branch on an existing table (`dbt-incr verify`). #}
{%- set incremental = is_incremental() and not var('dbt_incr_full_refresh', false) %}
{%- set backfill_start = var('backfill_start', none) %}
{%- set backfill_end = var('backfill_end', none) %}
{{- dbt_incr_check_backfill_vars(backfill_start, backfill_end) }}
{{- dbt_incr_check_strategy('[[ name ]]', '[[ strategy ]]', incremental) }}
{%- set input = [[ from ]] %}
{#- The input's columns and types, from the warehouse's catalog (through the plain relation:
    dbt may render the input as a filtered subquery). None in a dbt unit test, whose input is a
    fixture CTE. #}
{%- set input_columns = adapter.get_columns_in_relation(api.Relation.create(database=input.database, schema=input.schema, identifier=input.identifier)) if execute and model.resource_type != 'unit_test' else [] %}
{%- set load_time_type = dbt_incr_type_of('[[ load_time ]]', input_columns) %}
{{- dbt_incr_check_time_column('[[ name ]]', 'load_time', '[[ load_time ]]', load_time_type, input_columns) }}
[%- if event_time %]
{%- set event_time_type = dbt_incr_type_of('[[ event_time ]]', input_columns) %}
{{- dbt_incr_check_time_column('[[ name ]]', 'event_time', '[[ event_time ]]', event_time_type, input_columns) }}
[%- endif %]
[%- if columns %]
{%- set columns = [[ columns ]] %}
[%- elif dedup %]
{#- No `columns` in the spec: keep every column of the input. #}
{%- set columns = input_columns %}
{%- if execute and columns | length == 0 and model.resource_type != 'unit_test' %}
{{- exceptions.raise_compiler_error("dbt_incr: [[ name ]] reads the columns of " ~ input ~ " at run time and found none (an ephemeral model, a materialized view, or no privilege on its columns?); list them under `columns` in the spec") }}
{%- endif %}
[%- endif %]
[%- if microbatch %]
{%- if execute and backfill_start is not none %}
{{- exceptions.raise_compiler_error("dbt_incr: [[ name ]] is a microbatch model; re-process a window with dbt's own flags: dbt run -s [[ name ]] --event-time-start 2024-01-01 --event-time-end 2024-02-01") }}
{%- endif %}
{#- dbt sets model.batch only while it runs a batch; `dbt compile`, `show` and `docs generate`
    render the model without one, and then it reads every batch. #}
{%- set batch = model.batch if model.batch is defined and model.batch else none %}

{#- microbatch: dbt runs this once per [[ batch_size ]] of [[ event_time ]] and replaces that
    batch; the filter below keeps a batch to its own window even when the input has no
    event_time config. Late rows count only if their batch is re-run: see docs/how-it-works.md. #}
with source_rows as (

    select
        [[ select_list ]]
[%- if dedup %]
    from {{ input.render() }} as dbt_incr_source
    {%- if batch %}
    -- every version of each key with a row in this batch, from the whole input, so the dedup
    -- picks the version a full refresh would
    where {{ dbt_incr_keys_in_window(input, 'dbt_incr_source', [[ unique_key ]], dbt_incr_batch_window('dbt_incr_window.[[ event_time ]]', batch.event_time_start, batch.event_time_end, event_time_type)) | indent(4) }}
      and [[ load_time ]] is not null
    {%- else %}
    where [[ load_time ]] is not null
    {%- endif %}
[%- else %]
    from {{ dbt_incr_input(input) }}
    where [[ load_time ]] is not null
    {%- if batch %}
      and {{ dbt_incr_batch_window('[[ event_time ]]', batch.event_time_start, batch.event_time_end, event_time_type) | indent(6) }}
    {%- endif %}
[%- endif %]

)[% if dedup %],[% endif %]
[%- else %]
{%- set backfill = incremental and backfill_start is not none %}
[%- if not dedup %]
{%- if backfill %}
{{- exceptions.raise_compiler_error("dbt_incr: [[ name ]] is append-only (no unique_key), so a backfill would append its window a second time; rebuild it with --full-refresh instead") }}
{%- endif %}
[%- endif %]
{%- set watermark = dbt_incr_watermark(this, '[[ load_time ]]', [[ lookback_amount ]], '[[ lookback_unit ]]', load_time_type) if incremental and not backfill else none %}
[%- if overwrite %]
{%- if incremental %}

{#- insert_overwrite: the partitions this run touches, rebuilt in full from the input as a full
    refresh would build them (macros/dbt_incr/overwrite.sql); the pre-hook drops those left empty. #}
{{ dbt_incr_overwrite([[ overwrite ]], backfill_start, backfill_end) }}
{%- else %}
[%- endif %]

with source_rows as (

    select
        [[ select_list ]]
    from [% if dedup %]{% if backfill %}(select * from {{ dbt_incr_input(input) }}) as dbt_incr_source{% else %}{{ dbt_incr_input(input) }}{% endif %}[% else %]{{ dbt_incr_input(input) }}[% endif %]
    {%- if backfill %}
    -- backfill: every version of each key with a row whose [[ window_column ]] lies in
    -- [backfill_start, backfill_end), so the dedup picks what a full refresh would; none loaded
    -- after the target's newest [[ load_time ]]: those are the next incremental run's, and a
    -- backfill that wrote them would move the watermark past rows no run has read
    where {{ dbt_incr_keys_in_window(input, 'dbt_incr_source', [[ unique_key ]], dbt_incr_in_window('dbt_incr_window.[[ window_column ]]', backfill_start, backfill_end, [[ window_column_type ]])) | indent(4) }}
[%- if not_deleted %]
      -- (deletes at any load time: a delete removed its row, so the target's newest load time
      -- may be older than the deletes already applied)
      and ([[ load_time ]] <= {{ dbt_incr_watermark(this, '[[ load_time ]]', 0, 'day', load_time_type) | indent(6) }}
          or [[ deleted_condition ]])
[%- else %]
      and [[ load_time ]] <= {{ dbt_incr_watermark(this, '[[ load_time ]]', 0, 'day', load_time_type) | indent(6) }}
[%- endif %]
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
    {{ dbt_incr_latest_per_key('source_rows', [[ unique_key ]], '[[ load_time ]]', columns, [[ tie_breaker ]], input_columns) | indent(4) }}

)

select *
from latest
[%- if microbatch %]
{%- if batch %}
-- a key whose newest version lies in another batch is written by that batch
where {{ dbt_incr_batch_window('[[ event_time ]]', batch.event_time_start, batch.event_time_end, event_time_type) }}
{%- endif %}
[%- if not_deleted %]
-- a key whose newest version is a delete ([[ deleted_text ]]) is written as that delete, so the
-- strategy replaces the key's row; the model's post-hook then removes it
[%- endif %]
[%- else %]
{%- if incremental %}
-- never replace a target row with an older version of the same key
where {{ dbt_incr_keep_newest('latest', this, [[ unique_key ]], '[[ load_time ]]', watermark) }}
[%- if not_deleted %]
-- a key whose newest version is a delete ([[ deleted_text ]]) is written as that delete, so the
-- strategy replaces the key's row; the model's post-hook then removes it
[%- endif %]
[%- if not_deleted %]
{%- else %}
-- full refresh: a key whose newest version is a delete ([[ deleted_text ]]) is left out
where [[ not_deleted ]]
[%- endif %]
{%- endif %}
[%- endif %]
[%- else %]

-- no unique_key: every source row is a fact of its own and is kept as loaded
select *
from source_rows
[%- endif %]
[%- if overwrite %]
{%- endif %}
[%- endif %]
