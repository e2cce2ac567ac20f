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
            {%- if not check.bad -%}
                {#- A real calendar date and time of day (Spark without ANSI mode casts 2024-02-30
                    to NULL, and the backfill would silently select nothing). -#}
                {%- set year, month, day = text[0:4] | int, text[5:7] | int, text[8:10] | int -%}
                {%- set leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 -%}
                {%- set days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] -%}
                {%- if month < 1 or month > 12 or day < 1 or day > days[month - 1] -%}{%- set check.bad = true -%}
                {%- elif (text | length) > 10 and ((text[11:13] | int) > 23 or (text[14:16] | int) > 59 or ((text | length) > 16 and (text[17:19] | int) > 59)) -%}{%- set check.bad = true -%}
                {%- endif -%}
            {%- endif -%}
            {%- if check.bad -%}
                {{ exceptions.raise_compiler_error("dbt_incr: " ~ name ~ " must be a date or timestamp like 2024-01-01 or 2024-01-01 06:00:00, got '" ~ (value | string) ~ "'") }}
            {%- endif -%}
        {%- endfor -%}
        {%- if (backfill_start | string | replace('T', ' ')) >= (backfill_end | string | replace('T', ' ')) -%}
            {{ exceptions.raise_compiler_error("dbt_incr: backfill_start (" ~ backfill_start ~ ") must be before backfill_end (" ~ backfill_end ~ ")") }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
