{#- A condition on the batch's rows (`batch` is the CTE holding them): true unless the target
    already holds a newer version (by load time) of the same key. Equal load times pass, so a
    backfill can rewrite a row corrected in place. `lower_bound`, when given, is a load time every
    batch row is newer than; bounding the target's side by it lets engines skip old target data. -#}
{% macro dbt_incr_keep_newest(batch, target, unique_key, load_time, lower_bound=none) -%}
    {{ adapter.dispatch('dbt_incr_keep_newest')(batch, target, unique_key, load_time, lower_bound) }}
{%- endmacro %}

{% macro default__dbt_incr_keep_newest(batch, target, unique_key, load_time, lower_bound) -%}
not exists (
    select 1
    from {{ target }} as dbt_incr_target
    where
        {%- for key in unique_key %}
        dbt_incr_target.{{ key }} = {{ batch }}.{{ key }} and
        {%- endfor %}
        dbt_incr_target.{{ load_time }} > {{ batch }}.{{ load_time }}
        {%- if lower_bound is not none %}
        and dbt_incr_target.{{ load_time }} > {{ lower_bound | indent(8) }}
        {%- endif %}
        {%- set partition_filter = dbt_incr_partition_filter('dbt_incr_target') | trim %}
        {%- if partition_filter %}
        and {{ partition_filter }}
        {%- endif %}
)
{%- endmacro %}

{#- Trino and Athena (engine v3 is Trino): a correlated subquery may not hold another subquery,
    even an uncorrelated one ("Given correlated subquery is not supported", trinodb/trino#18727,
    open), so the bound, the watermark's scalar subquery, is left out of the guard's NOT EXISTS.
    The guard keeps the same rows without it: the bound only lets engines skip old target data. -#}
{% macro trino__dbt_incr_keep_newest(batch, target, unique_key, load_time, lower_bound) -%}
    {{ default__dbt_incr_keep_newest(batch, target, unique_key, load_time, none) }}
{%- endmacro %}

{% macro athena__dbt_incr_keep_newest(batch, target, unique_key, load_time, lower_bound) -%}
    {{ default__dbt_incr_keep_newest(batch, target, unique_key, load_time, none) }}
{%- endmacro %}

{#- ClickHouse: correlated subqueries are not generally supported, so the keys to skip are found
    with a join and excluded with NOT IN. `NULL not in (…)` is NULL (a dropped row) where the
    default's `not exists` keeps the row, so a NULL key passes explicitly, as it does elsewhere.
    https://clickhouse.com/docs/sql-reference/operators/in#null-processing -#}
{% macro clickhouse__dbt_incr_keep_newest(batch, target, unique_key, load_time, lower_bound) -%}
{%- for key in unique_key %}{{ key }} is null or {% endfor -%}
({{ unique_key | join(', ') }}) not in (
    select
        {%- for key in unique_key %}
        dbt_incr_target.{{ key }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ target }} as dbt_incr_target
    inner join {{ batch }} as dbt_incr_batch
        on
        {%- for key in unique_key %}
        dbt_incr_target.{{ key }} = dbt_incr_batch.{{ key }}{{ ' and' if not loop.last }}
        {%- endfor %}
    where
        dbt_incr_target.{{ load_time }} > dbt_incr_batch.{{ load_time }}
        {%- if lower_bound is not none %}
        and dbt_incr_target.{{ load_time }} > {{ lower_bound | indent(8) }}
        {%- endif %}
)
{%- endmacro %}
