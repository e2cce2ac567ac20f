{#- Stand-ins for dbt_utils' most used macros, loaded only when dbt_utils is not installed under
    dbt_packages/ (`dbt deps` not run): the same SQL shape (a hash of the key columns, the
    columns of a relation, a GROUP BY), enough for the analysis. The report says so. -#}
{% macro surrogate_key(field_list) -%}
    {%- set fields = field_list if field_list is sequence and field_list is not string else varargs -%}
    md5(concat({% for f in fields %}coalesce(cast({{ f }} as varchar), '_null_'){% if not loop.last %}, '-', {% endif %}{% endfor %}))
{%- endmacro %}
{% macro generate_surrogate_key(field_list) -%}
    md5(concat({% for f in field_list %}coalesce(cast({{ f }} as varchar), '_null_'){% if not loop.last %}, '-', {% endif %}{% endfor %}))
{%- endmacro %}
{% macro star(from, relation_alias=none, except=[], prefix='', suffix='', quote_identifiers=true) -%}
    {%- if relation_alias %}{{ relation_alias }}.{% endif %}*
{%- endmacro %}
{% macro group_by(n) -%}
    group by {% for i in range(1, n + 1) %}{{ i }}{% if not loop.last %}, {% endif %}{% endfor %}
{%- endmacro %}
{% macro get_column_values(table, column, order_by='count(*) desc', max_records=none, default=none, where=none) -%}
    {{ return(default if default is not none else []) }}
{%- endmacro %}
{% macro get_filtered_columns_in_relation(from, except=[]) -%}
    {{ return([]) }}
{%- endmacro %}
{% macro string_literal(value) %}'{{ value }}'{% endmacro %}
{% macro safe_add(field_list) -%}
    ({% for f in field_list %}coalesce({{ f }}, 0){% if not loop.last %} + {% endif %}{% endfor %})
{%- endmacro %}
{% macro type_string() %}varchar{% endmacro %}
{% macro type_timestamp() %}timestamp{% endmacro %}
{% macro current_timestamp() %}current_timestamp{% endmacro %}
{% macro dateadd(datepart, interval, from_date_or_timestamp) %}dateadd({{ datepart }}, {{ interval }}, {{ from_date_or_timestamp }}){% endmacro %}
{% macro datediff(first_date, second_date, datepart) %}datediff({{ datepart }}, {{ first_date }}, {{ second_date }}){% endmacro %}
{% macro date_trunc(datepart, date) %}date_trunc('{{ datepart }}', {{ date }}){% endmacro %}
{% macro safe_cast(field, type) %}cast({{ field }} as {{ type }}){% endmacro %}
{% macro slugify(string) %}{{ string | lower | replace(' ', '_') }}{% endmacro %}
