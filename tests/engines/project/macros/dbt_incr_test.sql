{#- Helpers of the real-engine suite (tests/engines). Not part of the dbt_incr package. -#}

{#- Runs each statement in turn, then commits. `statement(auto_begin=true)` + commit works on
    both DuckDB and PostgreSQL (run_query + commit fails on PostgreSQL). -#}
{% macro dbt_incr_test_exec(statements) %}
    {%- for sql in statements %}
        {%- call statement('dbt_incr_test_exec', auto_begin=true) %}{{ sql }}{% endcall %}
    {%- endfor %}
    {%- do adapter.commit() %}
{% endmacro %}

{#- For each model: is the incremental table (target schema) the same multiset of rows as the
    full-refresh build of the same model (schema `full_refresh_schema`)? Every row of both tables
    is counted per distinct value of all columns (GROUP BY treats NULLs as equal everywhere, and
    counting keeps duplicate rows apart, which plain EXCEPT would hide; not every warehouse has
    EXCEPT ALL), plus unique and not-null on the key. Reports one JSON line, read back by
    tests/engines/suite.py through a dbtRunner callback. -#}
{% macro dbt_incr_test_check(models, full_refresh_schema) %}
    {%- set out = [] %}
    {%- for m in models %}
        {%- set inc = api.Relation.create(database=target.get('database'), schema=target.schema, identifier=m['name'], type='table') %}
        {%- set full = api.Relation.create(database=target.get('database'), schema=full_refresh_schema, identifier=m['name'], type='table') %}
        {%- set inc_columns = adapter.get_columns_in_relation(inc) | map(attribute='name') | map('lower') | list %}
        {%- set full_columns = adapter.get_columns_in_relation(full) | map(attribute='name') | map('lower') | list %}
        {%- if not inc_columns or not full_columns %}
            {%- do out.append({'name': m['name'], 'error': 'missing table: ' ~ (inc if not inc_columns else full)}) %}
        {%- elif inc_columns | sort != full_columns | sort %}
            {%- do out.append({'name': m['name'], 'error': 'columns differ: ' ~ inc_columns ~ ' vs ' ~ full_columns}) %}
        {%- else %}
            {%- set cols = inc_columns | join(', ') %}
            {%- set key = m['key'] or [] %}
            {%- set query %}
select
    (select count(*) from {{ inc }}) as incremental_rows,
    (select count(*) from {{ full }}) as full_refresh_rows,
    coalesce(sum(case when n_inc > n_full then n_inc - n_full else 0 end), 0) as only_incremental,
    coalesce(sum(case when n_full > n_inc then n_full - n_inc else 0 end), 0) as only_full_refresh,
    {%- if key %}
    (select count(*) from (select {{ key | join(', ') }} from {{ inc }} group by {{ key | join(', ') }} having count(*) > 1) as d) as duplicate_keys,
    (select count(*) from {{ inc }} where {% for k in key %}{{ k }} is null{{ ' or ' if not loop.last }}{% endfor %}) as null_keys
    {%- else %}
    0 as duplicate_keys,
    0 as null_keys
    {%- endif %}
from (
    select {{ cols }}, sum(from_inc) as n_inc, sum(1 - from_inc) as n_full
    from (
        select {{ cols }}, 1 as from_inc from {{ inc }}
        union all
        select {{ cols }}, 0 as from_inc from {{ full }}
    ) as both_tables
    group by {{ cols }}
) as counted
            {%- endset %}
            {%- set row = run_query(query).rows[0] %}
            {%- do out.append({
                'name': m['name'],
                'incremental_rows': row[0] | int, 'full_refresh_rows': row[1] | int,
                'only_incremental': row[2] | int, 'only_full_refresh': row[3] | int,
                'duplicate_keys': row[4] | int, 'null_keys': row[5] | int}) %}
        {%- endif %}
    {%- endfor %}
    {{ log('DBT_INCR_CHECK ' ~ tojson(out), info=true) }}
{% endmacro %}
