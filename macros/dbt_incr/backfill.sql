{#- Backfill variables: both or neither. A lone one is a compile error naming the missing one,
    never a silent full or empty run. Each must be a date or timestamp written
    YYYY-MM-DD[( |T)HH:MM[:SS[.ffffff]]], so nothing but a timestamp reaches the SQL; `T` is
    read as a space (Trino and Athena reject it in a cast). -#}
{% macro dbt_incr_check_backfill_vars(backfill_start, backfill_end) -%}
    {%- if backfill_start is not none and backfill_end is none -%}
        {{ exceptions.raise_compiler_error("dbt_incr: backfill_start is set but backfill_end is missing; pass both, e.g. --vars '{backfill_start: \"2024-01-01\", backfill_end: \"2024-02-01\"}'") }}
    {%- elif backfill_end is not none and backfill_start is none -%}
        {{ exceptions.raise_compiler_error("dbt_incr: backfill_end is set but backfill_start is missing; pass both, e.g. --vars '{backfill_start: \"2024-01-01\", backfill_end: \"2024-02-01\"}'") }}
    {%- elif backfill_start is not none -%}
        {%- set pattern = '0000-00-00 00:00:00.000000' -%}
        {%- for name, value in [('backfill_start', backfill_start), ('backfill_end', backfill_end)] -%}
            {%- set text = value | string | replace('T', ' ') -%}
            {%- set check = namespace(bad=(text | length) not in [10, 16, 19, 21, 22, 23, 24, 25, 26]) -%}
            {%- for ch in text -%}
                {%- set expected = pattern[loop.index0] if loop.index0 < (pattern | length) else 'x' -%}
                {%- if (expected == '0' and ch not in '0123456789') or (expected != '0' and ch != expected) -%}{%- set check.bad = true -%}{%- endif -%}
            {%- endfor -%}
            {%- if check.bad -%}
                {{ exceptions.raise_compiler_error("dbt_incr: " ~ name ~ " must be a date or timestamp like 2024-01-01 or 2024-01-01 06:00:00, got '" ~ (value | string) ~ "'") }}
            {%- endif -%}
        {%- endfor -%}
        {%- if (backfill_start | string | replace('T', ' ')) >= (backfill_end | string | replace('T', ' ')) -%}
            {{ exceptions.raise_compiler_error("dbt_incr: backfill_start (" ~ backfill_start ~ ") must be before backfill_end (" ~ backfill_end ~ ")") }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- A condition on `outer` (an alias of the model's input): the row's key has at least one row
    whose `column` lies in [backfill_start, backfill_end). A backfill re-reads every version of
    those keys, not only the in-window ones, so its dedup picks the same row a full refresh
    would even when a key's versions straddle the window's edge. -#}
{% macro dbt_incr_keys_in_window(relation, outer, unique_key, column, backfill_start, backfill_end) -%}
    {{ adapter.dispatch('dbt_incr_keys_in_window')(relation, outer, unique_key, column, backfill_start, backfill_end) }}
{%- endmacro %}

{% macro default__dbt_incr_keys_in_window(relation, outer, unique_key, column, backfill_start, backfill_end) -%}
exists (
    select 1
    from (select * from {{ relation }}) as dbt_incr_window
    where
        {%- for key in unique_key %}
        dbt_incr_window.{{ key }} = {{ outer }}.{{ key }} and
        {%- endfor %}
        {{ dbt_incr_in_window('dbt_incr_window.' ~ column, backfill_start, backfill_end) | indent(8) }}
)
{%- endmacro %}

{#- ClickHouse: correlated subqueries are not generally supported; a tuple IN is.
    https://clickhouse.com/docs/sql-reference/operators/in -#}
{% macro clickhouse__dbt_incr_keys_in_window(relation, outer, unique_key, column, backfill_start, backfill_end) -%}
({{ unique_key | join(', ') }}) in (
    select {{ unique_key | join(', ') }}
    from {{ relation }}
    where {{ dbt_incr_in_window(column, backfill_start, backfill_end) | indent(10) }}
)
{%- endmacro %}

{#- `column` lies in [backfill_start, backfill_end). -#}
{% macro dbt_incr_in_window(column, backfill_start, backfill_end) -%}
{{ column }} >= {{ dbt_incr_timestamp_literal(backfill_start) }}
and {{ column }} < {{ dbt_incr_timestamp_literal(backfill_end) }}
{%- endmacro %}
