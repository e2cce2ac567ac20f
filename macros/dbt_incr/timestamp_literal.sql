{#- A timestamp constant, written the way each warehouse parses one, from `YYYY-MM-DD` or
    `YYYY-MM-DD HH:MM[:SS[.ffffff]]` (a `T` separator becomes a space).
    Used for backfill bounds and for the "far past" watermark of an empty target. -#}
{% macro dbt_incr_timestamp_literal(value) -%}
    {{ adapter.dispatch('dbt_incr_timestamp_literal')(value | string | replace('T', ' ')) }}
{%- endmacro %}

{% macro default__dbt_incr_timestamp_literal(value) -%}
    cast('{{ value }}' as timestamp)
{%- endmacro %}

{#- BigQuery: `cast(... as timestamp)` works, but `timestamp('...')` is the idiom and keeps the
    value a TIMESTAMP (not DATETIME) so comparisons with TIMESTAMP columns type-check.
    https://cloud.google.com/bigquery/docs/reference/standard-sql/timestamp_functions#timestamp -#}
{% macro bigquery__dbt_incr_timestamp_literal(value) -%}
    timestamp('{{ value }}')
{%- endmacro %}

{#- SQL Server: `timestamp` is a row-version type there, not a point in time; datetime2 is.
    https://learn.microsoft.com/sql/t-sql/data-types/datetime2-transact-sql -#}
{% macro sqlserver__dbt_incr_timestamp_literal(value) -%}
    cast('{{ value }}' as datetime2)
{%- endmacro %}

{#- ClickHouse: there is no `timestamp` type; DateTime64(6) holds microseconds and the parser
    accepts dates with or without a time part.
    https://clickhouse.com/docs/sql-reference/functions/type-conversion-functions#parsedatetime64besteffort -#}
{% macro clickhouse__dbt_incr_timestamp_literal(value) -%}
    parseDateTime64BestEffort('{{ value }}', 6)
{%- endmacro %}
