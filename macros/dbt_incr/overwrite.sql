{#- insert_overwrite that keeps "incremental equals full refresh": the partitions a run touches are
    rebuilt in full, from the input alone, as a full refresh would build them.

    A run touches the keys with a version it must take in (loaded after the watermark, or with a
    row in a backfill window) and every partition that holds any version of those keys (a key
    whose event moved has rows in its old partition too). Every version of every key with a row in
    a touched partition is deduplicated as a full refresh would, and the winners that lie in a
    touched partition are written: replacing those partitions yields the full refresh's rows.

    From the input alone, because dbt-spark overwrites with `insert overwrite table … partition (…)
    select … from <a view of the model>` and Spark refuses to overwrite a table the statement reads
    (parquet); the watermark is read before, with run_query. A touched partition left with no
    winner (every key in it moved or deleted) is not replaced by a dynamic overwrite, so the
    model's pre-hook drops it first. docs/how-it-works.md -#}

{#- The rebuild (`result` 'rows': the rows to write) or the touched partitions it leaves empty
    (`result` 'emptied'). `columns`: the spec's, or none for the input's (read from the catalog);
    `deleted`: the spec's `deleted` as [column, test, value] (test: is_true, not_null, equals), or
    none. -#}
{% macro dbt_incr_overwrite(input, unique_key, load_time, event_time, partition, lookback_amount, lookback_unit, columns, tie_breaker, deleted, backfill_start, backfill_end, result='rows') -%}
    {%- set kept = _dbt_incr_kept(deleted) if deleted is not none else none -%}
    {%- set input_columns = adapter.get_columns_in_relation(api.Relation.create(database=input.database, schema=input.schema, identifier=input.identifier)) if execute and model.resource_type != 'unit_test' else [] -%}
    {%- set load_time_type = dbt_incr_type_of(load_time, input_columns) -%}
    {%- set window_column = event_time if event_time is not none else load_time -%}
    {%- if backfill_start is not none -%}
        {#- A backfill touches the keys with a row in its window and reads no version loaded after
            the table's newest load time (those are the next run's), deletes excepted. -#}
        {%- set touched = dbt_incr_in_window('dbt_incr_source.' ~ window_column, backfill_start, backfill_end, dbt_incr_type_of(window_column, input_columns)) -%}
        {%- set newest = dbt_incr_watermark_constant(this, load_time, 0, 'day', load_time_type) -%}
        {%- set bound = 'dbt_incr_source.' ~ load_time ~ ' <= ' ~ newest ~ ((' or not (' ~ kept ~ ')') if kept is not none else '') -%}
    {%- else -%}
        {%- set touched = 'dbt_incr_source.' ~ load_time ~ ' > ' ~ dbt_incr_watermark_constant(this, load_time, lookback_amount, lookback_unit, load_time_type) -%}
        {%- set bound = none -%}
    {%- endif -%}
with dbt_incr_touched_keys as (

    -- the keys this run takes in
    select distinct {{ unique_key | join(', ') }}
    from {{ dbt_incr_input(input) }} as dbt_incr_source
    where {{ touched | indent(6) }}

),

dbt_incr_touched_partitions as (

    -- every partition holding a version of those keys
    select distinct dbt_incr_source.{{ partition }}
    from {{ dbt_incr_input(input) }} as dbt_incr_source
    where exists (
        select 1
        from dbt_incr_touched_keys
        where
            {%- for key in unique_key %}
            dbt_incr_touched_keys.{{ key }} = dbt_incr_source.{{ key }}{{ ' and' if not loop.last }}
            {%- endfor %}
    )

),

source_rows as (

    -- every version of every key with a row in those partitions
    select *
    from {{ dbt_incr_input(input) }} as dbt_incr_source
    where dbt_incr_source.{{ load_time }} is not null
      {%- if bound is not none %}
      and ({{ bound }})
      {%- endif %}
      and exists (
          select 1
          from {{ dbt_incr_input(input) }} as dbt_incr_window
          where
              {%- for key in unique_key %}
              dbt_incr_window.{{ key }} = dbt_incr_source.{{ key }} and
              {%- endfor %}
              dbt_incr_window.{{ partition }} in (select {{ partition }} from dbt_incr_touched_partitions)
      )

),

latest as (

    {{ dbt_incr_latest_per_key('source_rows', unique_key, load_time, columns if columns is not none else input_columns, tie_breaker, input_columns) | indent(4) }}

)

{% if result == 'emptied' -%}
select {{ partition }}
from dbt_incr_touched_partitions
where {{ partition }} is not null
  and {{ partition }} not in (
      select {{ partition }} from latest where {{ partition }} is not null{% if kept is not none %} and {{ kept }}{% endif %}
  )
{%- else -%}
-- the winners that lie in a touched partition: those partitions' full-refresh rows
select *
from latest
where {{ partition }} in (select {{ partition }} from dbt_incr_touched_partitions)
{%- if kept is not none %}
  and {{ kept }}
{%- endif %}
{%- endif %}
{%- endmacro %}

{#- The target's newest load time minus the lookback, read before the model runs and written as a
    constant (the overwrite may not read the table it replaces). An empty table gives the far past. -#}
{% macro dbt_incr_watermark_constant(target, load_time, amount, unit, dtype='') -%}
    {%- set query -%}
        select cast({{ dbt_incr_subtract_interval('max(' ~ load_time ~ ')', amount, unit, dtype) }} as string) from {{ target }}
    {%- endset -%}
    {%- set value = run_query(query).columns[0].values()[0] if execute else none -%}
    {{ dbt_incr_timestamp_literal(value if value is not none else '1900-01-01 00:00:00', dtype) }}
{%- endmacro %}

{#- The model's pre-hook: drops the touched partitions the rebuild leaves without a row, which a
    dynamic overwrite would keep as they were (stale versions of moved or deleted keys). Nothing
    on a first build or a full refresh, and nothing when no partition empties. `drop` is how the
    table format removes partitions: `partition` (Hive tables) or `delete` (Iceberg, Delta). -#}
{% macro dbt_incr_overwrite_pre_hook(input, unique_key, load_time, event_time, partition, lookback_amount, lookback_unit, columns, tie_breaker, deleted, drop) -%}
    {%- if execute and is_incremental() -%}
        {%- set emptied = run_query(dbt_incr_overwrite(input, unique_key, load_time, event_time, partition, lookback_amount, lookback_unit, columns, tie_breaker, deleted, var('backfill_start', none), var('backfill_end', none), 'emptied')).columns[0].values() -%}
        {%- if emptied | length > 0 -%}
            {%- if drop == 'partition' -%}
                alter table {{ this }} drop if exists
                {%- for value in emptied %} partition ({{ partition }} = '{{ value }}'){{ ',' if not loop.last }}{% endfor %}
            {%- else -%}
                delete from {{ this }} where {{ partition }} in ({% for value in emptied %}'{{ value }}'{{ ', ' if not loop.last }}{% endfor %})
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- SQL true for a row that is not a delete: the spec's `deleted` as [column, test, value]. -#}
{% macro _dbt_incr_kept(deleted) -%}
    {%- set column, test, value = deleted[0], deleted[1], deleted[2] -%}
    {%- if test == 'not_null' -%}{{ column }} is null
    {%- elif test == 'equals' -%}({{ column }} is null or {{ column }} <> '{{ value }}')
    {%- else -%}({{ column }} is null or {{ column }} <> true)
    {%- endif -%}
{%- endmacro %}
