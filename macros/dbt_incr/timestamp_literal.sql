{#- A timestamp constant, written the way each warehouse parses one, from `YYYY-MM-DD` or
    `YYYY-MM-DD HH:MM[:SS[.ffffff]]` (a `T` separator becomes a space). `dtype` is the type of the
    column it is compared with, lower-cased ('' when unknown), for warehouses where a TIMESTAMP
    constant cannot be compared with a DATETIME or DATE column.
    Used for backfill bounds and for the "far past" watermark of an empty target. -#}
{% macro dbt_incr_timestamp_literal(value, dtype='') -%}
    {{ adapter.dispatch('dbt_incr_timestamp_literal')(value | string | replace('T', ' '), dtype) }}
{%- endmacro %}

{% macro default__dbt_incr_timestamp_literal(value, dtype) -%}
    cast('{{ value }}' as timestamp)
{%- endmacro %}

{#- BigQuery: TIMESTAMP, DATETIME and DATE do not compare with each other, so the constant takes
    the column's type; a TIMESTAMP is read in UTC, whatever the project's default time zone.
    https://cloud.google.com/bigquery/docs/reference/standard-sql/conversion_rules -#}
{% macro bigquery__dbt_incr_timestamp_literal(value, dtype) -%}
    {%- if dtype == 'datetime' -%}
        cast('{{ value }}' as datetime)
    {%- elif dtype == 'date' -%}
        cast('{{ value[:10] }}' as date)
    {%- else -%}
        timestamp('{{ value }}', 'UTC')
    {%- endif -%}
{%- endmacro %}

{#- PostgreSQL, Redshift (which dispatches here) and DuckDB: a constant for a `timestamp with
    time zone` column is a UTC instant, as on BigQuery and ClickHouse and as dbt's microbatch
    bounds are; a bare literal would be read in the session's TimeZone, so a backfill window
    would move with the session. Other types keep the wall-clock literal.
    docs/dialects/postgres.md, duckdb.md (defects 6 and 9) -#}
{% macro postgres__dbt_incr_timestamp_literal(value, dtype) -%}
    {%- if dtype == 'timestamp with time zone' -%}
        cast('{{ _dbt_incr_utc(value) }}' as timestamptz)
    {%- else -%}
        cast('{{ value }}' as timestamp)
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__dbt_incr_timestamp_literal(value, dtype) -%}
    {{ postgres__dbt_incr_timestamp_literal(value, dtype) }}
{%- endmacro %}

{#- Snowflake: the same for TIMESTAMP_LTZ and TIMESTAMP_TZ columns, written as dbt-snowflake
    writes microbatch bounds (`to_timestamp_tz('…+00:00')`); a zone-less literal is read in the
    session's TIMEZONE (America/Los_Angeles by default). docs/dialects/snowflake.md, defect 6 -#}
{% macro snowflake__dbt_incr_timestamp_literal(value, dtype) -%}
    {%- if dtype in ['timestamp_ltz', 'timestamp_tz'] -%}
        to_timestamp_tz('{{ _dbt_incr_utc(value) }}')
    {%- else -%}
        cast('{{ value }}' as timestamp)
    {%- endif -%}
{%- endmacro %}

{#- `value` (a date, or a date and time) as a UTC timestamp with its offset. -#}
{% macro _dbt_incr_utc(value) -%}
    {{ value }}{{ ' 00:00:00' if value | length == 10 }}+00:00
{%- endmacro %}

{#- SQL Server: `timestamp` is a row-version type there, not a point in time; datetime2 is.
    https://learn.microsoft.com/sql/t-sql/data-types/datetime2-transact-sql -#}
{% macro sqlserver__dbt_incr_timestamp_literal(value, dtype) -%}
    cast('{{ value }}' as datetime2)
{%- endmacro %}

{#- ClickHouse: there is no `timestamp` type; DateTime64(6) holds microseconds and the parser
    accepts dates with or without a time part. Read in UTC, not the session's time zone.
    https://clickhouse.com/docs/sql-reference/functions/type-conversion-functions#parsedatetime64besteffort -#}
{% macro clickhouse__dbt_incr_timestamp_literal(value, dtype) -%}
    parseDateTime64BestEffort('{{ value }}', 6, 'UTC')
{%- endmacro %}

{#- Trino and Athena: a TIMESTAMP literal keeps the value's precision, where a cast from varchar
    rounds to milliseconds. For a `timestamp with time zone` column it carries the UTC offset, as
    dbt-trino writes microbatch bounds: a zone-less literal is read in the session time zone
    (the client machine's, by default). https://trino.io/docs/current/language/types.html#timestamp -#}
{% macro trino__dbt_incr_timestamp_literal(value, dtype) -%}
    {%- if 'with time zone' in dtype -%}
        timestamp '{{ _dbt_incr_utc(value) }}'
    {%- else -%}
        timestamp '{{ value }}'
    {%- endif -%}
{%- endmacro %}

{% macro athena__dbt_incr_timestamp_literal(value, dtype) -%}
    {{ trino__dbt_incr_timestamp_literal(value, dtype) }}
{%- endmacro %}
