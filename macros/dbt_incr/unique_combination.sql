{#- Generic data test: no two rows share the same values in `columns` (a composite unique key).
    Fails with one row per duplicated combination. Needs no package (dbt_utils is not assumed).
    Usage: data_tests: [{dbt_incr_unique_combination: {columns: [order_id, line_no]}}] -#}
{% test dbt_incr_unique_combination(model, columns) -%}
select
    {{ columns | join(',\n    ') }},
    count(*) as dbt_incr_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{%- endtest %}
