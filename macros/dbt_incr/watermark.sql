{#- Where an incremental run starts reading: the target's newest load time minus the lookback.
    Measured on the target, not the clock, so a model that missed runs catches up; an empty
    target gives a far-past bound, so everything is loaded. -#}
{% macro dbt_incr_watermark(target, load_time, amount, unit, dtype='') -%}
    {{ adapter.dispatch('dbt_incr_watermark')(target, load_time, amount, unit, dtype) }}
{%- endmacro %}

{#- A scalar subquery. Engines with zone maps or min/max statistics (DuckDB, Snowflake, ...)
    answer max() from metadata and prune the source scan with the result at run time. -#}
{% macro default__dbt_incr_watermark(target, load_time, amount, unit, dtype) -%}
(
    select coalesce(
        {{ dbt_incr_subtract_interval('max(' ~ load_time ~ ')', amount, unit, dtype) }},
        {{ dbt_incr_timestamp_literal('1900-01-01 00:00:00', dtype) }}
    )
    from {{ target }}
)
{%- endmacro %}

{#- ClickHouse: max() over no rows returns the type's default (1970-01-01 for DateTime), not NULL,
    unless aggregate_functions_null_for_empty is set, so coalesce() never sees an empty target, and
    1970-01-01 minus a lookback wraps around to 2106. count() tells an empty target apart instead.
    https://clickhouse.com/docs/operations/settings/settings#aggregate_functions_null_for_empty -#}
{% macro clickhouse__dbt_incr_watermark(target, load_time, amount, unit, dtype) -%}
(
    select if(
        count({{ load_time }}) = 0,
        {{ dbt_incr_timestamp_literal('1900-01-01 00:00:00', dtype) }},
        {{ dbt_incr_subtract_interval('max(' ~ load_time ~ ')', amount, unit, dtype) }}
    )
    from {{ target }}
)
{%- endmacro %}

{#- BigQuery prunes partitions only on constants: a subquery in the filter scans every partition.
    So the watermark is read first and inlined as a constant of the column's type, formatted
    in UTC (a TIMESTAMP shown in the project's default time zone would be read back in UTC).
    https://cloud.google.com/bigquery/docs/querying-partitioned-tables#pruning_limiting_partitions -#}
{% macro bigquery__dbt_incr_watermark(target, load_time, amount, unit, dtype) -%}
    {%- set newest = dbt_incr_subtract_interval('max(' ~ load_time ~ ')', amount, unit, dtype) -%}
    {%- set partition_filter = dbt_incr_partition_filter() -%}
    {%- set query -%}
        {%- if dtype == 'datetime' -%}
        select format_datetime('%Y-%m-%d %H:%M:%E6S', {{ newest }}) from {{ target }}
        {%- elif dtype == 'date' -%}
        select format_date('%Y-%m-%d', {{ newest }}) from {{ target }}
        {%- else -%}
        select format_timestamp('%Y-%m-%d %H:%M:%E6S', {{ newest }}, 'UTC') from {{ target }}
        {%- endif -%}
        {%- if partition_filter | trim %} where {{ partition_filter | trim }}{% endif -%}
    {%- endset -%}
    {%- set watermark = run_query(query).columns[0].values()[0] if execute else none -%}
    {{ dbt_incr_timestamp_literal(watermark if watermark is not none else '1900-01-01 00:00:00', dtype) }}
{%- endmacro %}
