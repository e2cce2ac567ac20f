{#- Generic data test: no two rows share the same values in `columns` (a composite unique key).
    Fails with one row per duplicated combination. Needs no package (dbt_utils is not assumed).
    Usage (dbt 1.11 nests a test's arguments under `arguments:`; dbt before 1.10.5, or with the
    flag require_generic_test_arguments_property off, passes `arguments` through as is, which is
    read here too):
      data_tests: [{dbt_incr_unique_combination: {arguments: {columns: [order_id, line_no]}}}] -#}
{% test dbt_incr_unique_combination(model, columns=none, arguments=none) -%}
{%- set columns = columns if columns is not none else arguments['columns'] -%}
select
    {{ columns | join(',\n    ') }},
    count(*) as dbt_incr_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{%- endtest %}
