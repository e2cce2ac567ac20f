{#- Backfill variables: both or neither. A lone one is a compile error naming the missing one,
    never a silent full or empty run. Values must look like timestamps, so nothing but a
    timestamp reaches the SQL. -#}
{% macro dbt_incr_check_backfill_vars(backfill_start, backfill_end) -%}
    {%- if backfill_start is not none and backfill_end is none -%}
        {{ exceptions.raise_compiler_error("dbt_incr: backfill_start is set but backfill_end is missing; pass both, e.g. --vars '{backfill_start: \"2024-01-01\", backfill_end: \"2024-02-01\"}'") }}
    {%- elif backfill_end is not none and backfill_start is none -%}
        {{ exceptions.raise_compiler_error("dbt_incr: backfill_end is set but backfill_start is missing; pass both, e.g. --vars '{backfill_start: \"2024-01-01\", backfill_end: \"2024-02-01\"}'") }}
    {%- elif backfill_start is not none -%}
        {%- for name, value in [('backfill_start', backfill_start), ('backfill_end', backfill_end)] -%}
            {%- set text = value | string -%}
            {%- set check = namespace(bad=(text | length) < 10 or (text | length) > 26) -%}
            {%- for ch in text -%}{%- if ch not in '0123456789-:. T' -%}{%- set check.bad = true -%}{%- endif -%}{%- endfor -%}
            {%- if check.bad -%}
                {{ exceptions.raise_compiler_error("dbt_incr: " ~ name ~ " must be a date or timestamp like 2024-01-01 or 2024-01-01 06:00:00, got '" ~ text ~ "'") }}
            {%- endif -%}
        {%- endfor -%}
        {%- if (backfill_start | string) >= (backfill_end | string) -%}
            {{ exceptions.raise_compiler_error("dbt_incr: backfill_start (" ~ backfill_start ~ ") must be before backfill_end (" ~ backfill_end ~ ")") }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- `column` lies in [backfill_start, backfill_end). -#}
{% macro dbt_incr_in_window(column, backfill_start, backfill_end) -%}
{{ column }} >= {{ dbt_incr_timestamp_literal(backfill_start) }}
and {{ column }} < {{ dbt_incr_timestamp_literal(backfill_end) }}
{%- endmacro %}
