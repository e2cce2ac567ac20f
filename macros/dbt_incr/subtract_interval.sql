{#- `expression` minus `amount` minutes, hours or days, in each warehouse's date arithmetic.
    `unit` is one of minute, hour, day; `dtype` the type of `expression`, lower-cased ('' when
    unknown). Nothing to subtract leaves the expression alone. A DATE has no hours (Trino and
    BigQuery refuse them), so a shorter lookback on a date is rounded up to whole days. -#}
{% macro dbt_incr_subtract_interval(expression, amount, unit, dtype='') -%}
    {%- if amount == 0 -%}
        {{ expression }}
    {%- elif dtype in ['date', 'date32', 'nullable(date)', 'nullable(date32)'] and unit != 'day' -%}
        {%- set minutes = amount * (1 if unit == 'minute' else 60) -%}
        {{ adapter.dispatch('dbt_incr_subtract_interval')(expression, (minutes + 1439) // 1440, 'day', dtype) }}
    {%- else -%}
        {{ adapter.dispatch('dbt_incr_subtract_interval')(expression, amount, unit, dtype) }}
    {%- endif -%}
{%- endmacro %}

{#- PostgreSQL and DuckDB: an interval literal. -#}
{% macro default__dbt_incr_subtract_interval(expression, amount, unit, dtype) -%}
    {{ expression }} - interval '{{ amount }} {{ unit }}'
{%- endmacro %}

{#- Snowflake, Redshift and SQL Server spell it dateadd with a negative amount.
    https://docs.snowflake.com/en/sql-reference/functions/dateadd -#}
{% macro snowflake__dbt_incr_subtract_interval(expression, amount, unit, dtype) -%}
    dateadd({{ unit }}, -{{ amount }}, {{ expression }})
{%- endmacro %}

{% macro redshift__dbt_incr_subtract_interval(expression, amount, unit, dtype) -%}
    dateadd({{ unit }}, -{{ amount }}, {{ expression }})
{%- endmacro %}

{#- SQL Server: DATEADD of minutes or hours fails on a DATE (Msg 9810), and an alias type (`create
    type load_ts from date`) is reported under its own name, so its base type is unknown here. Such
    a value is cast to datetimeoffset first: a date becomes its midnight, a datetime2 keeps its
    value (offset +00:00, as SQL Server converts the column when comparing), a datetimeoffset its
    offset. https://learn.microsoft.com/en-us/sql/t-sql/functions/dateadd-transact-sql -#}
{% macro sqlserver__dbt_incr_subtract_interval(expression, amount, unit, dtype) -%}
    {%- set known = dtype in ['', 'datetime', 'smalldatetime'] or dtype[:9] == 'datetime2' or dtype[:14] == 'datetimeoffset' -%}
    {%- if unit != 'day' and not known -%}
        dateadd({{ unit }}, -{{ amount }}, cast({{ expression }} as datetimeoffset))
    {%- else -%}
        dateadd({{ unit }}, -{{ amount }}, {{ expression }})
    {%- endif -%}
{%- endmacro %}

{#- BigQuery: each type has its own function and keeps its type (dbt.dateadd returns DATETIME,
    which then fails to compare with TIMESTAMP columns; timestamp_sub fails on a DATETIME).
    https://cloud.google.com/bigquery/docs/reference/standard-sql/timestamp_functions#timestamp_sub -#}
{% macro bigquery__dbt_incr_subtract_interval(expression, amount, unit, dtype) -%}
    {%- if dtype == 'datetime' -%}
        datetime_sub({{ expression }}, interval {{ amount }} {{ unit }})
    {%- elif dtype == 'date' -%}
        date_sub({{ expression }}, interval {{ amount }} {{ unit }})
    {%- else -%}
        timestamp_sub({{ expression }}, interval {{ amount }} {{ unit }})
    {%- endif -%}
{%- endmacro %}

{#- Spark and Databricks: interval literals take an unquoted amount.
    https://spark.apache.org/docs/latest/sql-ref-literals.html#interval-literal -#}
{% macro spark__dbt_incr_subtract_interval(expression, amount, unit, dtype) -%}
    {{ expression }} - interval {{ amount }} {{ unit }}
{%- endmacro %}

{#- ClickHouse: interval literals take an unquoted amount too.
    https://clickhouse.com/docs/sql-reference/operators#interval -#}
{% macro clickhouse__dbt_incr_subtract_interval(expression, amount, unit, dtype) -%}
    {{ expression }} - interval {{ amount }} {{ unit }}
{%- endmacro %}

{#- Trino and Athena: date_add with a quoted unit and a negative amount.
    https://trino.io/docs/current/functions/datetime.html#date_add -#}
{% macro trino__dbt_incr_subtract_interval(expression, amount, unit, dtype) -%}
    date_add('{{ unit }}', -{{ amount }}, {{ expression }})
{%- endmacro %}

{% macro athena__dbt_incr_subtract_interval(expression, amount, unit, dtype) -%}
    date_add('{{ unit }}', -{{ amount }}, {{ expression }})
{%- endmacro %}
