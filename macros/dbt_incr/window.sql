{#- Event-time windows: a backfill's [backfill_start, backfill_end), a microbatch batch, and the
    keys that have a row in either. `dtype` is the column's type from the catalog, lower-cased,
    or '' when unknown. -#}

{#- `column` lies in [backfill_start, backfill_end). -#}
{% macro dbt_incr_in_window(column, backfill_start, backfill_end, dtype='') -%}
{{ column }} >= {{ dbt_incr_timestamp_literal(backfill_start, dtype) }}
and {{ column }} < {{ dbt_incr_timestamp_literal(backfill_end, dtype) }}
{%- endmacro %}

{#- `column` lies in a microbatch batch [start, end). dbt's bounds are UTC datetimes, and the
    adapter replaces the batch with its own predicate on them; this filter writes the bounds the
    way that predicate does, so both select the same rows in any session time zone (a plain
    `cast('…' as timestamp)` is read in the session's zone: rows at the batch edges were lost). -#}
{% macro dbt_incr_batch_window(column, start, end, dtype='') -%}
    {{ adapter.dispatch('dbt_incr_batch_window')(column, start, end, dtype) }}
{%- endmacro %}

{#- PostgreSQL, DuckDB, Spark, Databricks: an untyped literal with the UTC offset, typed by the
    column, as dbt's event-time filter and the adapters' batch predicates write it.
    docs/dialects/postgres.md, duckdb.md, databricks.md -#}
{% macro default__dbt_incr_batch_window(column, start, end, dtype) -%}
{{ column }} >= '{{ start }}'
and {{ column }} < '{{ end }}'
{%- endmacro %}

{#- Snowflake deletes a batch where the column is in [to_timestamp_tz(start), to_timestamp_tz(end))
    (dbt-snowflake snowflake__get_incremental_microbatch_sql). -#}
{% macro snowflake__dbt_incr_batch_window(column, start, end, dtype) -%}
{{ column }} >= to_timestamp_tz('{{ start }}')
and {{ column }} < to_timestamp_tz('{{ end }}')
{%- endmacro %}

{#- Redshift and Trino delete a batch with TIMESTAMP literals of the bounds
    (dbt-redshift redshift__get_incremental_microbatch_sql, dbt-trino
    trino__get_incremental_microbatch_sql). -#}
{% macro redshift__dbt_incr_batch_window(column, start, end, dtype) -%}
{{ column }} >= timestamp '{{ start }}'
and {{ column }} < timestamp '{{ end }}'
{%- endmacro %}

{% macro trino__dbt_incr_batch_window(column, start, end, dtype) -%}
{{ column }} >= timestamp '{{ start }}'
and {{ column }} < timestamp '{{ end }}'
{%- endmacro %}

{#- SQL Server compares with datetimeoffset bounds, as dbt-sqlserver's batch predicate does
    (sqlserver__get_incremental_microbatch_sql); a datetime2 column is read as UTC there. -#}
{% macro sqlserver__dbt_incr_batch_window(column, start, end, dtype) -%}
{{ column }} >= cast('{{ start }}' as datetimeoffset)
and {{ column }} < cast('{{ end }}' as datetimeoffset)
{%- endmacro %}

{#- BigQuery: a TIMESTAMP bound from the UTC text; a DATETIME or DATE column gets the UTC wall
    clock in its own type (comparing DATETIME with TIMESTAMP is an error there). -#}
{% macro bigquery__dbt_incr_batch_window(column, start, end, dtype) -%}
{{ column }} >= {{ _dbt_incr_bigquery_bound(start, dtype) }}
and {{ column }} < {{ _dbt_incr_bigquery_bound(end, dtype) }}
{%- endmacro %}

{% macro _dbt_incr_bigquery_bound(value, dtype) -%}
    {%- if dtype == 'datetime' -%}datetime(timestamp('{{ value }}'), 'UTC')
    {%- elif dtype == 'date' -%}date(timestamp('{{ value }}'), 'UTC')
    {%- else -%}timestamp('{{ value }}')
    {%- endif -%}
{%- endmacro %}

{#- A condition on `outer` (an alias of the model's input): the row's key has at least one row
    in `window`, a condition on the alias `dbt_incr_window` of `relation`. A backfill or batch
    re-reads every version of those keys, not only the in-window ones, so its dedup picks the
    same row a full refresh would even when a key's versions straddle the window's edge.
    `relation` is read through a subquery: dbt renders it as an aliased subquery under --empty,
    --sample and inside a microbatch batch on some adapters. -#}
{% macro dbt_incr_keys_in_window(relation, outer, unique_key, window) -%}
    {{ adapter.dispatch('dbt_incr_keys_in_window')(relation, outer, unique_key, window) }}
{%- endmacro %}

{% macro default__dbt_incr_keys_in_window(relation, outer, unique_key, window) -%}
exists (
    select 1
    from (select * from {{ dbt_incr_input(relation) }}) as dbt_incr_window
    where
        {%- for key in unique_key %}
        dbt_incr_window.{{ key }} = {{ outer }}.{{ key }} and
        {%- endfor %}
        {{ window | indent(8) }}
)
{%- endmacro %}

{#- ClickHouse: correlated subqueries are not generally supported; a tuple IN is.
    https://clickhouse.com/docs/sql-reference/operators/in -#}
{% macro clickhouse__dbt_incr_keys_in_window(relation, outer, unique_key, window) -%}
({{ unique_key | join(', ') }}) in (
    select
        {%- for key in unique_key %}
        dbt_incr_window.{{ key }}{{ ',' if not loop.last }}
        {%- endfor %}
    from (select * from {{ dbt_incr_input(relation) }}) as dbt_incr_window
    where {{ window | indent(10) }}
)
{%- endmacro %}
