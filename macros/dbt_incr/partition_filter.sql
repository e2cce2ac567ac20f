{#- A predicate on the target's partition column that is always true, for reads of the target on
    warehouses that refuse a query without a filter on it. Empty where none is needed: every
    adapter but BigQuery, and BigQuery tables without `require_partition_filter`. `alias` names
    the target in the query (none: the column alone); `settings` is the model's config where the
    caller is not the model itself (a run-operation passes the node's), else the model's `config`. -#}
{% macro dbt_incr_partition_filter(alias=none, settings=none) -%}
    {{ adapter.dispatch('dbt_incr_partition_filter')(alias, settings) }}
{%- endmacro %}

{% macro default__dbt_incr_partition_filter(alias, settings) -%}
{%- endmacro %}

{#- BigQuery refuses any query over a table with `require_partition_filter` (often set
    project-wide: `+require_partition_filter: true`) that has no filter on its partition column
    usable for partition elimination, so the watermark and the keep-newest guard, which read the
    target, would fail every incremental run. dbt-bigquery adds the same always-true predicate to
    its own MERGE for this reason (`predicate_for_avoid_require_partition_filter`,
    macros/materializations/incremental_strategy/common.sql, dbt-bigquery 1.11.3; PR #986); it
    reads the partition column of ingestion-time partitioned tables the same way. -#}
{% macro bigquery__dbt_incr_partition_filter(alias, settings) -%}
    {%- set settings = settings if settings is not none else config -%}
    {%- if settings.get('require_partition_filter', false) and settings.get('partition_by', none) is not none -%}
        {%- set partition_by = adapter.parse_partition_by(settings.get('partition_by')) -%}
        {%- set field = partition_by.time_partitioning_field() if partition_by.time_ingestion_partitioning else partition_by.field -%}
        {%- set column = (alias ~ '.' if alias else '') ~ field -%}
        ({{ column }} is null or {{ column }} is not null)
    {%- endif -%}
{%- endmacro %}
