{#- One row per unique key from `relation` (a CTE name): the row with the latest load time.
    Ties on the load time are broken by `tie_breaker` columns (default: every column that is
    neither key nor load time), so every run picks the same row, whatever batch it reads. -#}
{% macro dbt_incr_latest_per_key(relation, unique_key, load_time, columns, tie_breaker=none) -%}
    {{ adapter.dispatch('dbt_incr_latest_per_key')(relation, unique_key, load_time, columns, tie_breaker) }}
{%- endmacro %}

{#- The window's order: newest load first, then the tie breakers, ascending with NULLs last on
    every warehouse (the default puts NULLs first on Spark, SQL Server and in Postgres' DESC), so
    a tie is broken the same way everywhere. Rows without a load time never get here. -#}
{% macro _dbt_incr_dedup_order(unique_key, load_time, columns, tie_breaker) -%}
    {%- set skip = [load_time | lower] + (unique_key | map('lower') | list) -%}
    {{ load_time }} desc
    {%- for column in (tie_breaker if tie_breaker is not none else columns) -%}
        {%- if column | lower not in skip %},
{{ adapter.dispatch('dbt_incr_nulls_last')(column) }}{% endif -%}
    {%- endfor -%}
{%- endmacro %}

{#- `column` ascending, NULLs after every value. -#}
{% macro default__dbt_incr_nulls_last(column) -%}
    {{ column }} nulls last
{%- endmacro %}

{#- SQL Server has no NULLS LAST; NULL sorts first there, so a flag column orders it last.
    https://learn.microsoft.com/sql/t-sql/queries/select-order-by-clause-transact-sql -#}
{% macro sqlserver__dbt_incr_nulls_last(column) -%}
    case when {{ column }} is null then 1 else 0 end,
{{ column }}
{%- endmacro %}

{#- Portable form: rank in a subquery, keep rank 1, and name the columns to drop the rank. -#}
{% macro default__dbt_incr_latest_per_key(relation, unique_key, load_time, columns, tie_breaker) -%}
select
    {{ columns | join(',\n    ') }}
from (
    select
        *,
        row_number() over (
            partition by {{ unique_key | join(', ') }}
            order by
                {{ _dbt_incr_dedup_order(unique_key, load_time, columns, tie_breaker) | indent(16) }}
        ) as dbt_incr_row_number
    from {{ relation }}
) as ranked
where dbt_incr_row_number = 1
{%- endmacro %}

{#- Warehouses with QUALIFY filter on the window in place: no subquery, no column list. The
    relation is aliased: Redshift reads `from t qualify …` as `t` aliased `qualify`
    (dbt-core #10424; dbt-utils' redshift__deduplicate aliases for the same reason). -#}
{% macro _dbt_incr_latest_per_key_qualify(relation, unique_key, load_time, columns, tie_breaker) -%}
select *
from {{ relation }} as dbt_incr_versions
qualify row_number() over (
    partition by {{ unique_key | join(', ') }}
    order by
        {{ _dbt_incr_dedup_order(unique_key, load_time, columns, tie_breaker) | indent(8) }}
) = 1
{%- endmacro %}

{#- Snowflake: QUALIFY. https://docs.snowflake.com/en/sql-reference/constructs/qualify -#}
{% macro snowflake__dbt_incr_latest_per_key(relation, unique_key, load_time, columns, tie_breaker) -%}
    {{ _dbt_incr_latest_per_key_qualify(relation, unique_key, load_time, columns, tie_breaker) }}
{%- endmacro %}

{#- DuckDB: QUALIFY. https://duckdb.org/docs/sql/query_syntax/qualify -#}
{% macro duckdb__dbt_incr_latest_per_key(relation, unique_key, load_time, columns, tie_breaker) -%}
    {{ _dbt_incr_latest_per_key_qualify(relation, unique_key, load_time, columns, tie_breaker) }}
{%- endmacro %}

{#- Redshift: QUALIFY since 2023. Without this override Redshift would inherit postgres__/default__.
    https://docs.aws.amazon.com/redshift/latest/dg/r_QUALIFY_clause.html -#}
{% macro redshift__dbt_incr_latest_per_key(relation, unique_key, load_time, columns, tie_breaker) -%}
    {{ _dbt_incr_latest_per_key_qualify(relation, unique_key, load_time, columns, tie_breaker) }}
{%- endmacro %}

{#- Databricks: QUALIFY (open-source Spark only has it from 4.2, so spark__ keeps the default).
    https://docs.databricks.com/en/sql/language-manual/sql-ref-syntax-qry-select-qualify.html -#}
{% macro databricks__dbt_incr_latest_per_key(relation, unique_key, load_time, columns, tie_breaker) -%}
    {{ _dbt_incr_latest_per_key_qualify(relation, unique_key, load_time, columns, tie_breaker) }}
{%- endmacro %}

{#- BigQuery: QUALIFY, which older engines accepted only beside a WHERE, GROUP BY or HAVING;
    `where true` satisfies them and costs nothing.
    https://cloud.google.com/bigquery/docs/reference/standard-sql/query-syntax#qualify_clause -#}
{% macro bigquery__dbt_incr_latest_per_key(relation, unique_key, load_time, columns, tie_breaker) -%}
select *
from {{ relation }}
where true
qualify row_number() over (
    partition by {{ unique_key | join(', ') }}
    order by
        {{ _dbt_incr_dedup_order(unique_key, load_time, columns, tie_breaker) | indent(8) }}
) = 1
{%- endmacro %}
