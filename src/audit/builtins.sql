{#- dbt's built-in cross-database macros (the `dbt` namespace), as the audit's mock renders
    them: one spelling per macro that the analysis recognises (dateadd with a negative amount is
    a lookback, current_timestamp is the clock), not the SQL of any one warehouse. -#}
{% macro dateadd(datepart, interval, from_date_or_timestamp) %}dateadd({{ datepart }}, {{ interval }}, {{ from_date_or_timestamp }}){% endmacro %}
{% macro datediff(first_date, second_date, datepart) %}datediff({{ datepart }}, {{ first_date }}, {{ second_date }}){% endmacro %}
{% macro date_trunc(datepart, date) %}date_trunc('{{ datepart }}', {{ date }}){% endmacro %}
{% macro last_day(date, datepart) %}last_day({{ date }}){% endmacro %}
{% macro current_timestamp() %}current_timestamp{% endmacro %}
{% macro current_timestamp_backcompat() %}current_timestamp{% endmacro %}
{% macro current_timestamp_in_utc_backcompat() %}current_timestamp{% endmacro %}
{% macro snapshot_get_time() %}current_timestamp{% endmacro %}
{% macro type_timestamp() %}timestamp{% endmacro %}
{% macro type_string() %}varchar{% endmacro %}
{% macro type_int() %}int{% endmacro %}
{% macro type_bigint() %}bigint{% endmacro %}
{% macro type_float() %}float{% endmacro %}
{% macro type_numeric() %}numeric{% endmacro %}
{% macro type_boolean() %}boolean{% endmacro %}
{% macro cast(field, type) %}cast({{ field }} as {{ type }}){% endmacro %}
{% macro safe_cast(field, type) %}cast({{ field }} as {{ type }}){% endmacro %}
{% macro concat(fields) %}concat({{ fields | join(', ') }}){% endmacro %}
{% macro hash(field) %}md5(cast({{ field }} as varchar)){% endmacro %}
{% macro split_part(string_text, delimiter_text, part_number) %}split_part({{ string_text }}, {{ delimiter_text }}, {{ part_number }}){% endmacro %}
{% macro listagg(measure, delimiter_text="','", order_by_clause=none, limit_num=none) %}string_agg({{ measure }}, {{ delimiter_text }}){% endmacro %}
{% macro bool_or(expression) %}bool_or({{ expression }}){% endmacro %}
{% macro any_value(expression) %}any_value({{ expression }}){% endmacro %}
{% macro string_literal(value) %}'{{ value }}'{% endmacro %}
{% macro escape_single_quotes(expression) %}{{ expression | replace("'", "''") }}{% endmacro %}
{% macro replace(field, old_chars, new_chars) %}replace({{ field }}, {{ old_chars }}, {{ new_chars }}){% endmacro %}
{% macro right(string_text, length_expression) %}right({{ string_text }}, {{ length_expression }}){% endmacro %}
{% macro length(expression) %}length({{ expression }}){% endmacro %}
{% macro position(substring_text, string_text) %}position({{ substring_text }} in {{ string_text }}){% endmacro %}
{% macro except() %}except{% endmacro %}
{% macro intersect() %}intersect{% endmacro %}
{% macro cast_bool_to_text(field) %}cast({{ field }} as varchar){% endmacro %}
{% macro date(year, month, day) %}cast('{{ year }}-{{ month }}-{{ day }}' as date){% endmacro %}
{% macro array_construct(inputs=[], data_type=none) %}array[{{ inputs | join(', ') }}]{% endmacro %}
{% macro is_incremental() %}{{ return(is_incremental()) }}{% endmacro %}
{% macro should_full_refresh() %}{{ return(false) }}{% endmacro %}
{% macro generate_schema_name(custom_schema_name, node) %}analytics{% endmacro %}
{% macro get_columns_in_relation(relation) %}{{ return([]) }}{% endmacro %}
