{#- One row per unique key from `relation` (a CTE name): the row with the latest load time.
    Ties on the load time are broken by `tie_breaker` columns (default: every column that is
    neither key nor load time), so every run picks the same row, whatever batch it reads.
    `columns` are names (from the spec) or column objects (read from the catalog at run time,
    then quoted); `input_columns` give the types, to sort columns a warehouse cannot order. -#}
{% macro dbt_incr_latest_per_key(relation, unique_key, load_time, columns, tie_breaker=none, input_columns=[]) -%}
    {{ adapter.dispatch('dbt_incr_latest_per_key')(relation, unique_key, load_time, columns, tie_breaker, input_columns) }}
{%- endmacro %}

{#- A column as SQL: spec names are plain identifiers, written as is; names read from the
    catalog are quoted (they may be mixed case, reserved words, or hold spaces). -#}
{% macro _dbt_incr_column_sql(column) -%}
    {%- if column is string -%}{{ column }}{%- else -%}{{ adapter.quote(column.name) }}{%- endif -%}
{%- endmacro %}

{#- The window's order: newest load first, then the tie breakers, ascending with NULLs last on
    every warehouse (the default puts NULLs first on Spark, SQL Server and BigQuery), so a tie is
    broken the same way everywhere. Rows without a load time never get here. -#}
{% macro _dbt_incr_dedup_order(unique_key, load_time, columns, tie_breaker, input_columns) -%}
    {%- set skip = [load_time | lower] + (unique_key | map('lower') | list) -%}
    {{ load_time }} desc
    {%- for column in (tie_breaker if tie_breaker is not none else columns) -%}
        {%- set name = column if column is string else column.name -%}
        {%- if name | lower not in skip -%}
            {%- set sql = _dbt_incr_column_sql(column) -%}
            {%- set dtype = dbt_incr_type_of(name, input_columns) -%}
            {%- set key = adapter.dispatch('dbt_incr_sort_key')(sql, dtype) -%}
            {%- set exact = adapter.dispatch('dbt_incr_exact_sort_key')(sql, dtype) | trim -%},
{{ adapter.dispatch('dbt_incr_nulls_last')(sql, key) }}
            {%- if exact %}, {{ exact }}{% endif -%}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}

{#- `key` (the sort key of `column`) ascending, NULLs after every value. -#}
{% macro default__dbt_incr_nulls_last(column, key) -%}
    {{ key }} nulls last
{%- endmacro %}

{#- SQL Server has no NULLS LAST and sorts NULL first, so a flag column orders it last.
    https://learn.microsoft.com/sql/t-sql/queries/select-order-by-clause-transact-sql -#}
{% macro sqlserver__dbt_incr_nulls_last(column, key) -%}
    case when {{ column }} is null then 1 else 0 end,
{{ key }}
{%- endmacro %}

{#- BigQuery sorts NULL first ascending and documents NULLS LAST for a query's ORDER BY, not
    for a window's: a boolean (false before true) orders NULL last instead.
    https://cloud.google.com/bigquery/docs/reference/standard-sql/window-function-calls -#}
{% macro bigquery__dbt_incr_nulls_last(column, key) -%}
    {{ column }} is null,
{{ key }}
{%- endmacro %}

{#- What a tie-breaking column is sorted by: the column itself, or for a type the warehouse
    cannot order, a text form of it (deterministic, so every run picks the same row). `dtype` is
    the catalog's type, lower-cased, or '' when unknown (a column listed in the spec). -#}
{% macro default__dbt_incr_sort_key(column, dtype) -%}
    {{ column }}
{%- endmacro %}

{#- PostgreSQL: json, xml and the geometric types have no ordering operator; arrays and
    user-defined types (composites, PostGIS) may not. Their text form sorts.
    docs/dialects/postgres.md; https://www.postgresql.org/docs/current/functions-comparison.html -#}
{% macro postgres__dbt_incr_sort_key(column, dtype) -%}
    {%- if dtype in ['json', 'xml', 'point', 'line', 'lseg', 'box', 'path', 'polygon', 'circle', 'array', 'user-defined', 'pg_snapshot', 'txid_snapshot', 'aclitem'] -%}
        cast({{ column }} as text)
    {%- else -%}
        {{ column }}
    {%- endif -%}
{%- endmacro %}

{#- A second sort key after a column's, for values its sort key calls equal though they differ,
    so such ties too are broken the same way in every run; '' where there are none. -#}
{% macro default__dbt_incr_exact_sort_key(column, dtype) -%}
{%- endmacro %}

{#- PostgreSQL: numeric, interval and the float types hold values that are equal but not the
    same (1.0 and 1.00, '1 day' and '24 hours', 0 and -0), and the input order picked which one a
    run kept; their text breaks the tie (ascending: NULL, whose text is NULL, sorts last).
    docs/dialects/postgres.md, defect 4. -#}
{% macro postgres__dbt_incr_exact_sort_key(column, dtype) -%}
    {%- if dtype in ['numeric', 'interval', 'real', 'double precision'] -%}
        cast({{ column }} as text)
    {%- endif -%}
{%- endmacro %}

{#- SQL Server: under the default case-insensitive collation 'ABC' = 'abc', and trailing spaces
    are ignored ('a' = 'a '); two datetimeoffsets of the same instant in other offsets are equal.
    Their bytes and length, and the offset, break those ties. Not run here (docs/dialects/
    sqlserver.md, defect 6); varbinary(max) sorts, as the sort key of image columns shows.
    https://learn.microsoft.com/sql/relational-databases/collations/collation-and-unicode-support -#}
{% macro sqlserver__dbt_incr_exact_sort_key(column, dtype) -%}
    {%- if dtype in ['char', 'varchar', 'nchar', 'nvarchar'] -%}
        cast({{ column }} as varbinary(max)), datalength({{ column }})
    {%- elif dtype == 'datetimeoffset' -%}
        datepart(tzoffset, {{ column }})
    {%- endif -%}
{%- endmacro %}

{#- Redshift's numeric has a fixed scale and it has no interval columns: nothing to add. -#}
{% macro redshift__dbt_incr_exact_sort_key(column, dtype) -%}
{%- endmacro %}

{#- Redshift: SUPER, GEOMETRY and GEOGRAPHY cannot be sorted (HLLSKETCH neither, and has no
    text form: list a tie_breaker for it).
    https://docs.aws.amazon.com/redshift/latest/dg/r_ORDER_BY_clause.html -#}
{% macro redshift__dbt_incr_sort_key(column, dtype) -%}
    {%- if dtype == 'super' -%}
        json_serialize({{ column }})
    {%- elif dtype in ['geometry', 'geography'] -%}
        st_astext({{ column }})
    {%- else -%}
        {{ column }}
    {%- endif -%}
{%- endmacro %}

{#- BigQuery: ARRAY, STRUCT, JSON and GEOGRAPHY are not orderable; their JSON text is.
    https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types#orderable_data_types -#}
{% macro bigquery__dbt_incr_sort_key(column, dtype) -%}
    {%- if dtype[:5] == 'array' or dtype[:6] in ['struct', 'record'] or dtype == 'json' -%}
        to_json_string({{ column }})
    {%- elif dtype == 'geography' -%}
        st_asbinary({{ column }})
    {%- else -%}
        {{ column }}
    {%- endif -%}
{%- endmacro %}

{#- Snowflake orders VARIANT, OBJECT and ARRAY, not GEOGRAPHY or GEOMETRY.
    https://docs.snowflake.com/en/sql-reference/data-types-geospatial -#}
{% macro snowflake__dbt_incr_sort_key(column, dtype) -%}
    {%- if dtype in ['geography', 'geometry'] -%}
        st_aswkb({{ column }})
    {%- else -%}
        {{ column }}
    {%- endif -%}
{%- endmacro %}

{#- Spark and Databricks: MAP (also inside an array or struct) and VARIANT are not orderable
    (INVALID_ORDERING_TYPE); their string form is. docs/dialects/spark.md -#}
{% macro spark__dbt_incr_sort_key(column, dtype) -%}
    {%- if 'map<' in dtype or 'variant' in dtype -%}
        cast({{ column }} as string)
    {%- else -%}
        {{ column }}
    {%- endif -%}
{%- endmacro %}

{#- Trino and Athena: JSON and MAP (also inside an array or row) have no ordering; their JSON
    text does. Athena reports Glue's spelling, map<…>. https://trino.io/docs/current/language/types.html -#}
{% macro trino__dbt_incr_sort_key(column, dtype) -%}
    {%- if 'json' in dtype or 'map(' in dtype or 'map<' in dtype -%}
        json_format(cast({{ column }} as json))
    {%- else -%}
        {{ column }}
    {%- endif -%}
{%- endmacro %}

{% macro athena__dbt_incr_sort_key(column, dtype) -%}
    {{ trino__dbt_incr_sort_key(column, dtype) }}
{%- endmacro %}

{#- SQL Server: xml, text, ntext, image and the spatial types cannot be sorted; their text or
    bytes can (bytes for spatial types: their text form is rounded).
    https://learn.microsoft.com/sql/t-sql/queries/select-order-by-clause-transact-sql -#}
{% macro sqlserver__dbt_incr_sort_key(column, dtype) -%}
    {%- if dtype in ['xml', 'text', 'ntext'] -%}
        cast({{ column }} as nvarchar(max))
    {%- elif dtype in ['image', 'geography', 'geometry'] -%}
        cast({{ column }} as varbinary(max))
    {%- else -%}
        {{ column }}
    {%- endif -%}
{%- endmacro %}

{#- ClickHouse: Variant, Dynamic and AggregateFunction columns cannot be sorted (error 44 on
    26.9); their text form can. docs/dialects/clickhouse.md -#}
{% macro clickhouse__dbt_incr_sort_key(column, dtype) -%}
    {%- if 'variant(' in dtype or 'dynamic' in dtype or 'aggregatefunction(' in dtype -%}
        toString({{ column }})
    {%- else -%}
        {{ column }}
    {%- endif -%}
{%- endmacro %}

{#- Portable form: rank in a subquery, keep rank 1, and name the columns to drop the rank. -#}
{% macro default__dbt_incr_latest_per_key(relation, unique_key, load_time, columns, tie_breaker, input_columns) -%}
select
    {% for column in columns %}{{ _dbt_incr_column_sql(column) }}{{ ',\n    ' if not loop.last }}{% endfor %}
from (
    select
        *,
        row_number() over (
            partition by {{ unique_key | join(', ') }}
            order by
                {{ _dbt_incr_dedup_order(unique_key, load_time, columns, tie_breaker, input_columns) | indent(16) }}
        ) as dbt_incr_row_number
    from {{ relation }}
) as ranked
where dbt_incr_row_number = 1
{%- endmacro %}

{#- Warehouses with QUALIFY filter on the window in place: no subquery, no column list. The
    relation is aliased: Redshift reads `from t qualify …` as `t` aliased `qualify`
    (dbt-core #10424; dbt-utils' redshift__deduplicate aliases for the same reason). -#}
{% macro _dbt_incr_latest_per_key_qualify(relation, unique_key, load_time, columns, tie_breaker, input_columns) -%}
select *
from {{ relation }} as dbt_incr_versions
qualify row_number() over (
    partition by {{ unique_key | join(', ') }}
    order by
        {{ _dbt_incr_dedup_order(unique_key, load_time, columns, tie_breaker, input_columns) | indent(8) }}
) = 1
{%- endmacro %}

{#- Snowflake: QUALIFY. https://docs.snowflake.com/en/sql-reference/constructs/qualify -#}
{% macro snowflake__dbt_incr_latest_per_key(relation, unique_key, load_time, columns, tie_breaker, input_columns) -%}
    {{ _dbt_incr_latest_per_key_qualify(relation, unique_key, load_time, columns, tie_breaker, input_columns) }}
{%- endmacro %}

{#- DuckDB: QUALIFY. https://duckdb.org/docs/sql/query_syntax/qualify -#}
{% macro duckdb__dbt_incr_latest_per_key(relation, unique_key, load_time, columns, tie_breaker, input_columns) -%}
    {{ _dbt_incr_latest_per_key_qualify(relation, unique_key, load_time, columns, tie_breaker, input_columns) }}
{%- endmacro %}

{#- Redshift: QUALIFY since 2023. Without this override Redshift would inherit postgres__/default__.
    https://docs.aws.amazon.com/redshift/latest/dg/r_QUALIFY_clause.html -#}
{% macro redshift__dbt_incr_latest_per_key(relation, unique_key, load_time, columns, tie_breaker, input_columns) -%}
    {{ _dbt_incr_latest_per_key_qualify(relation, unique_key, load_time, columns, tie_breaker, input_columns) }}
{%- endmacro %}

{#- Databricks: QUALIFY (open-source Spark only has it from 4.2, so spark__ keeps the default).
    https://docs.databricks.com/en/sql/language-manual/sql-ref-syntax-qry-select-qualify.html -#}
{% macro databricks__dbt_incr_latest_per_key(relation, unique_key, load_time, columns, tie_breaker, input_columns) -%}
    {{ _dbt_incr_latest_per_key_qualify(relation, unique_key, load_time, columns, tie_breaker, input_columns) }}
{%- endmacro %}

{#- BigQuery: QUALIFY, which older engines accepted only beside a WHERE, GROUP BY or HAVING;
    `where true` satisfies them and costs nothing.
    https://cloud.google.com/bigquery/docs/reference/standard-sql/query-syntax#qualify_clause -#}
{% macro bigquery__dbt_incr_latest_per_key(relation, unique_key, load_time, columns, tie_breaker, input_columns) -%}
select *
from {{ relation }} as dbt_incr_versions
where true
qualify row_number() over (
    partition by {{ unique_key | join(', ') }}
    order by
        {{ _dbt_incr_dedup_order(unique_key, load_time, columns, tie_breaker, input_columns) | indent(8) }}
) = 1
{%- endmacro %}
