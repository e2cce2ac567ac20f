{#- Where an incremental run starts reading: the target's newest load time minus the lookback.
    Measured on the target, not the clock, so a model that missed runs catches up; an empty
    target gives a far-past bound, so everything is loaded. -#}
{% macro dbt_incr_watermark(target, load_time, amount, unit) -%}
    {{ adapter.dispatch('dbt_incr_watermark')(target, load_time, amount, unit) }}
{%- endmacro %}

{#- A scalar subquery. Engines with zone maps or min/max statistics (DuckDB, Snowflake, ...)
    answer max() from metadata and prune the source scan with the result at run time. -#}
{% macro default__dbt_incr_watermark(target, load_time, amount, unit) -%}
(
    select coalesce(
        {{ dbt_incr_subtract_interval('max(' ~ load_time ~ ')', amount, unit) }},
        {{ dbt_incr_timestamp_literal('1900-01-01 00:00:00') }}
    )
    from {{ target }}
)
{%- endmacro %}

{#- ClickHouse: max() over no rows returns the type's default (1970-01-01 for DateTime), not NULL,
    unless aggregate_functions_null_for_empty is set, so coalesce() never sees an empty target, and
    1970-01-01 minus a lookback wraps around to 2106. count() tells an empty target apart instead.
    https://clickhouse.com/docs/operations/settings/settings#aggregate_functions_null_for_empty -#}
{% macro clickhouse__dbt_incr_watermark(target, load_time, amount, unit) -%}
(
    select if(
        count({{ load_time }}) = 0,
        {{ dbt_incr_timestamp_literal('1900-01-01 00:00:00') }},
        {{ dbt_incr_subtract_interval('max(' ~ load_time ~ ')', amount, unit) }}
    )
    from {{ target }}
)
{%- endmacro %}

{#- BigQuery prunes partitions only on constants: a subquery in the filter scans every partition.
    So the watermark is read first and inlined as a literal.
    https://cloud.google.com/bigquery/docs/querying-partitioned-tables#pruning_limiting_partitions -#}
{% macro bigquery__dbt_incr_watermark(target, load_time, amount, unit) -%}
    {%- set query -%}
        select format_timestamp('%Y-%m-%d %H:%M:%E6S', {{ dbt_incr_subtract_interval('max(' ~ load_time ~ ')', amount, unit) }}) from {{ target }}
    {%- endset -%}
    {%- set watermark = run_query(query).columns[0].values()[0] if execute else none -%}
    {{ dbt_incr_timestamp_literal(watermark if watermark is not none else '1900-01-01 00:00:00') }}
{%- endmacro %}
