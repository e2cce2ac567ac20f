{#- `expression` minus `amount` minutes, hours or days, in each warehouse's date arithmetic.
    `unit` is one of minute, hour, day. Nothing to subtract leaves the expression alone. -#}
{% macro dbt_incr_subtract_interval(expression, amount, unit) -%}
    {%- if amount == 0 -%}
        {{ expression }}
    {%- else -%}
        {{ adapter.dispatch('dbt_incr_subtract_interval')(expression, amount, unit) }}
    {%- endif -%}
{%- endmacro %}

{#- PostgreSQL and DuckDB: an interval literal. -#}
{% macro default__dbt_incr_subtract_interval(expression, amount, unit) -%}
    {{ expression }} - interval '{{ amount }} {{ unit }}'
{%- endmacro %}

{#- Snowflake, Redshift and SQL Server spell it dateadd with a negative amount.
    https://docs.snowflake.com/en/sql-reference/functions/dateadd -#}
{% macro snowflake__dbt_incr_subtract_interval(expression, amount, unit) -%}
    dateadd({{ unit }}, -{{ amount }}, {{ expression }})
{%- endmacro %}

{% macro redshift__dbt_incr_subtract_interval(expression, amount, unit) -%}
    dateadd({{ unit }}, -{{ amount }}, {{ expression }})
{%- endmacro %}

{% macro sqlserver__dbt_incr_subtract_interval(expression, amount, unit) -%}
    dateadd({{ unit }}, -{{ amount }}, {{ expression }})
{%- endmacro %}

{#- BigQuery: timestamp_sub keeps a TIMESTAMP a TIMESTAMP (dbt.dateadd returns DATETIME, which
    then fails to compare with TIMESTAMP columns).
    https://cloud.google.com/bigquery/docs/reference/standard-sql/timestamp_functions#timestamp_sub -#}
{% macro bigquery__dbt_incr_subtract_interval(expression, amount, unit) -%}
    timestamp_sub({{ expression }}, interval {{ amount }} {{ unit }})
{%- endmacro %}

{#- Spark and Databricks: interval literals take an unquoted amount.
    https://spark.apache.org/docs/latest/sql-ref-literals.html#interval-literal -#}
{% macro spark__dbt_incr_subtract_interval(expression, amount, unit) -%}
    {{ expression }} - interval {{ amount }} {{ unit }}
{%- endmacro %}

{#- ClickHouse: interval literals take an unquoted amount too.
    https://clickhouse.com/docs/sql-reference/operators#interval -#}
{% macro clickhouse__dbt_incr_subtract_interval(expression, amount, unit) -%}
    {{ expression }} - interval {{ amount }} {{ unit }}
{%- endmacro %}

{#- Trino and Athena: date_add with a quoted unit and a negative amount.
    https://trino.io/docs/current/functions/datetime.html#date_add -#}
{% macro trino__dbt_incr_subtract_interval(expression, amount, unit) -%}
    date_add('{{ unit }}', -{{ amount }}, {{ expression }})
{%- endmacro %}

{% macro athena__dbt_incr_subtract_interval(expression, amount, unit) -%}
    date_add('{{ unit }}', -{{ amount }}, {{ expression }})
{%- endmacro %}
