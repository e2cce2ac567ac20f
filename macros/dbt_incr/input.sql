{#- The model's input: how to read it, and what the warehouse's catalog says about it. `columns`
    are the objects adapter.get_columns_in_relation returns; they are empty in a dbt unit test,
    where the input is a fixture CTE, and then nothing here is known or checked. -#}

{#- The first word of a catalog type, without ClickHouse's wrappers: `varchar(20)` -> varchar,
    `timestamp without time zone` -> timestamp, `nullable(string)` -> string. -#}
{% macro _dbt_incr_type_family(dtype) -%}
    {%- set word = namespace(text='', done=false) -%}
    {%- for ch in dtype | replace('nullable(', '') | replace('lowcardinality(', '') -%}
        {%- if not word.done and ch in 'abcdefghijklmnopqrstuvwxyz0123456789_' -%}
            {%- set word.text = word.text ~ ch -%}
        {%- elif word.text -%}
            {%- set word.done = true -%}
        {%- endif -%}
    {%- endfor -%}
    {{- word.text -}}
{%- endmacro %}

{#- The input relation, to read `from`. Under --empty dbt renders it as a subquery, which
    dbt-sqlserver leaves without an alias (T-SQL requires one: dbt-sqlserver issue #595); such a
    subquery gets one here. Other renderings are used as they are. -#}
{% macro dbt_incr_input(relation) -%}
    {%- set text = relation | string | trim -%}
    {{ text }}{% if text[-1:] == ')' %} as dbt_incr_input{% endif %}
{%- endmacro %}

{#- The data type of `column`, lower-cased, or '' when unknown. BigQuery reports an ARRAY by its
    element type with mode REPEATED (dbt-bigquery BigQueryColumn), so that one reads `array<…>`. -#}
{% macro dbt_incr_type_of(column, columns) -%}
    {%- for c in columns if c.name | lower == column | lower -%}
        {%- if loop.first -%}
            {%- if c.mode is defined and c.mode == 'REPEATED' -%}array<{{ c.dtype | lower }}>{%- else -%}{{ c.dtype | lower }}{%- endif -%}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}

{#- Stops the run when the input has no column `column`, or when it is a text, number or other
    type that is not a date or timestamp: the incremental window and backfill bounds are date
    arithmetic on it, and on a text or integer column every incremental run would fail after the
    first build. Types it does not know (a domain, a SQL Server alias type) pass. -#}
{% macro dbt_incr_check_time_column(model_name, role, column, dtype, columns) -%}
    {%- set names = columns | map(attribute='name') | map('lower') | list -%}
    {%- if names | length > 0 and column | lower not in names -%}
        {{ exceptions.raise_compiler_error("dbt_incr: " ~ model_name ~ ": the input has no column `" ~ column ~ "` (the model's " ~ role ~ "); its columns: " ~ (columns | map(attribute='name') | join(', '))) }}
    {%- elif dtype and _dbt_incr_type_family(dtype) in ['char', 'varchar', 'character', 'text', 'string', 'nvarchar', 'nchar', 'ntext', 'int', 'integer', 'bigint', 'smallint', 'tinyint', 'int2', 'int4', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'numeric', 'decimal', 'number', 'float', 'float4', 'float8', 'float32', 'float64', 'double', 'real', 'bool', 'boolean', 'json', 'jsonb', 'uuid', 'bytes', 'binary', 'varbinary', 'bytea', 'super', 'variant'] -%}
        {{ exceptions.raise_compiler_error("dbt_incr: " ~ model_name ~ ": " ~ role ~ " `" ~ column ~ "` is " ~ dtype ~ ", not a date or timestamp; cast it to a timestamp in a staging model") }}
    {%- endif -%}
{%- endmacro %}

{#- Stops a run the adapter would execute wrongly with this model's strategy. Nothing to check on
    most adapters. -#}
{% macro dbt_incr_check_strategy(model_name, strategy, incremental) -%}
    {{ adapter.dispatch('dbt_incr_check_strategy')(model_name, strategy, incremental) }}
{%- endmacro %}

{% macro default__dbt_incr_check_strategy(model_name, strategy, incremental) -%}
{%- endmacro %}

{#- Databricks below DBR 17.1 (no `insert into … replace on`) runs delete+insert as a DELETE and an
    INSERT that both read a temporary view of the model: the model is evaluated again after the
    DELETE, its watermark and guard now see a smaller target, and rows come back twice
    (dbt-databricks strategies.sql, delete_insert_legacy_sql; docs/dialects/databricks.md). -#}
{% macro databricks__dbt_incr_check_strategy(model_name, strategy, incremental) -%}
    {%- if execute and incremental and strategy == 'delete+insert' and not adapter.has_dbr_capability('replace_on') -%}
        {{ exceptions.raise_compiler_error("dbt_incr: " ~ model_name ~ ": delete+insert on this Databricks runtime (below DBR 17.1) deletes, then inserts from a view that re-reads the target, so rows would be written twice; use incremental_strategy: merge, or DBR 17.1+ / a SQL warehouse") }}
    {%- endif -%}
{%- endmacro %}
