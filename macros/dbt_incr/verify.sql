{#- Does a model's table still hold exactly the rows a full refresh would build? Run through dbt
    on the warehouse: `dbt-incr verify MODEL` compiles the model's full-refresh query
    (`dbt compile -s MODEL --vars '{dbt_incr_full_refresh: true}'`) and passes it as `query`. By
    hand, compare with a full-refresh build in another schema:
        dbt run-operation dbt_incr_verify --args '{model: fct_events, expected_relation: analytics_fr.fct_events}'
    Both sides are compared as multisets of rows: every row is counted per distinct value of all
    columns on each side (union all + group by: every warehouse has both, where EXCEPT ALL is
    missing on several, and GROUP BY treats NULLs as equal), optionally only rows whose
    `window_column` lies in [start, end), so a large table can be checked a month at a time.
    Columns a warehouse cannot group (json on PostgreSQL, …) are compared by their text form.
    Nothing is created: the full-refresh query is read as a subquery (SQL Server, which takes no
    WITH inside a subquery, reads it through a view, dropped afterwards).
    Logs a summary per model, and one line `DBT_INCR_VERIFY <json>` that the CLI reads.
    `checks` runs several comparisons in one invocation: a list of dicts with the arguments
    model … end. -#}
{% macro dbt_incr_verify(model=none, query=none, expected_relation=none, unique_key=none, window_column=none, start=none, end=none, sample=10, checks=none) %}
    {%- if not execute %}{{ return(none) }}{% endif %}
    {%- set checks = checks if checks is not none else [{'model': model, 'query': query, 'expected_relation': expected_relation, 'unique_key': unique_key, 'window_column': window_column, 'start': start, 'end': end}] %}
    {%- set out = [] %}
    {%- for check in checks %}
        {%- set result = _dbt_incr_verify_one(check, sample | int) %}
        {%- do out.append(result) %}
        {{ log('dbt_incr_verify ' ~ result['model'] ~ ': ' ~ _dbt_incr_verify_summary(result), info=true) }}
    {%- endfor %}
    {{ log('DBT_INCR_VERIFY ' ~ tojson(out), info=true) }}
{% endmacro %}

{% macro _dbt_incr_verify_summary(r) -%}
    {%- if 'error' in r -%}error: {{ r['error'] }}
    {%- elif r['status'] == 'equal' -%}equal ({{ r['table_rows'] }} rows)
    {%- else -%}different: {{ r['only_in_table'] }} row(s) only in the table, {{ r['only_in_full_refresh'] }} only in a full refresh, {{ r['keys_differing'] }} key(s)
    {%- endif -%}
{%- endmacro %}

{% macro _dbt_incr_verify_one(check, sample) %}
    {%- set name = check.get('model') %}
    {%- set nodes = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model') | selectattr('name', 'equalto', name) | list %}
    {%- if nodes | length == 0 %}
        {{ return({'model': name, 'error': 'no model named ' ~ name ~ ' in the project'}) }}
    {%- endif %}
    {%- set node = nodes[0] %}
    {%- set relation = adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias) %}
    {%- if relation is none %}
        {{ return({'model': name, 'error': 'the table of ' ~ name ~ ' does not exist yet: run the model first'}) }}
    {%- endif %}
    {#- A read of the table needs a partition filter on some warehouses (BigQuery's
        require_partition_filter): run-operation's `config` is not the model's, so its node's. #}
    {%- set table_filter = dbt_incr_partition_filter(none, node.config) | trim %}
    {%- set query, expected_relation = check.get('query'), check.get('expected_relation') %}
    {%- if (query is none) == (expected_relation is none) %}
        {{ return({'model': name, 'error': 'pass either query (the full-refresh SQL) or expected_relation'}) }}
    {%- endif %}
    {%- set start, end = check.get('start'), check.get('end') %}
    {%- if (start is none) != (end is none) %}
        {{ return({'model': name, 'error': 'a window needs both start and end'}) }}
    {%- endif %}
    {%- if start is not none %}
        {{- dbt_incr_check_backfill_vars(start, end) }}
    {%- endif %}
    {%- set key = check.get('unique_key') or node.config.get('unique_key') or [] %}
    {%- set key = [key] if key is string else key | list %}

    {%- set table_columns = adapter.get_columns_in_relation(relation) %}
    {%- set expected = adapter.dispatch('dbt_incr_verify_expected')(query, relation) if query is not none else expected_relation %}
    {%- set expected_names = run_query('select * from ' ~ expected ~ ' where 1 = 0').column_names | map('lower') | list %}
    {%- set table_names = table_columns | map(attribute='name') | map('lower') | list %}
    {%- set columns = [] %}
    {%- for c in table_columns if c.name | lower in expected_names %}{% do columns.append(c) %}{% endfor %}
    {%- set result = {
        'model': name, 'relation': relation | string, 'columns': columns | map(attribute='name') | list,
        'only_table_columns': table_names | reject('in', expected_names) | list,
        'only_full_refresh_columns': expected_names | reject('in', table_names) | list,
        'window': none} %}

    {%- set window = none %}
    {%- if start is not none %}
        {%- set window_column = check.get('window_column') or node.config.get('event_time') %}
        {%- set found = table_columns | selectattr('name', 'in', [window_column, window_column | lower, window_column | upper]) | list if window_column else [] %}
        {%- if not found %}
            {%- do adapter.dispatch('dbt_incr_verify_drop')(relation) %}
            {{ return({'model': name, 'error': 'a window needs window_column, a column of ' ~ relation ~ ' (got ' ~ (window_column or 'none') ~ ')'}) }}
        {%- endif %}
        {%- set window = dbt_incr_in_window(adapter.quote(found[0].name), start, end, found[0].dtype | lower) %}
        {%- do result.update({'window': {'column': found[0].name, 'start': start | string, 'end': end | string}}) %}
    {%- endif %}

    {%- set selected = [] %}
    {%- set names = [] %}
    {%- for c in columns %}
        {%- do selected.append(adapter.dispatch('dbt_incr_sort_key')(adapter.quote(c.name), c.dtype | lower) ~ ' as ' ~ adapter.quote(c.name)) %}
        {%- do names.append(adapter.quote(c.name)) %}
    {%- endfor %}
    {%- set key_columns, key_names = [], [] %}
    {%- for k in key %}
        {%- for c in columns if c.name | lower == k | lower %}
            {%- do key_columns.append(c.name) %}
            {%- do key_names.append(adapter.quote(c.name)) %}
        {%- endfor %}
    {%- endfor %}
    {%- set grouped -%}
    select {{ names | join(', ') }}, sum(dbt_incr_in_table) as dbt_incr_in_table, sum(dbt_incr_in_full_refresh) as dbt_incr_in_full_refresh
    from (
        select {{ selected | join(', ') }}, 1 as dbt_incr_in_table, 0 as dbt_incr_in_full_refresh
        from {{ relation }}
        {%- if window or table_filter %}
        where {{ [window, table_filter] | select | join(' and ') }}
        {%- endif %}
        union all
        select {{ selected | join(', ') }}, 0 as dbt_incr_in_table, 1 as dbt_incr_in_full_refresh
        from {{ expected }}
        {%- if window %}
        where {{ window }}
        {%- endif %}
    ) as dbt_incr_both
    group by {{ names | join(', ') }}
    {%- endset %}
    {%- set counts = run_query('select coalesce(sum(dbt_incr_in_table), 0), coalesce(sum(dbt_incr_in_full_refresh), 0), '
        ~ 'coalesce(sum(case when dbt_incr_in_table > dbt_incr_in_full_refresh then dbt_incr_in_table - dbt_incr_in_full_refresh else 0 end), 0), '
        ~ 'coalesce(sum(case when dbt_incr_in_full_refresh > dbt_incr_in_table then dbt_incr_in_full_refresh - dbt_incr_in_table else 0 end), 0) '
        ~ 'from (' ~ grouped ~ '\n) as dbt_incr_counted').rows[0] %}
    {%- do result.update({'table_rows': counts[0] | int, 'full_refresh_rows': counts[1] | int, 'only_in_table': counts[2] | int, 'only_in_full_refresh': counts[3] | int, 'keys_differing': 0, 'key': key_columns, 'sample': []}) %}
    {%- set differing = result['only_in_table'] + result['only_in_full_refresh'] > 0 %}
    {%- if differing %}
        {%- set by = key_names if key_names else names %}
        {%- set differing_rows = grouped ~ '\n    having sum(dbt_incr_in_table) <> sum(dbt_incr_in_full_refresh)' %}
        {%- set keys = run_query('select count(*) from (select ' ~ by | join(', ') ~ ' from (' ~ differing_rows ~ '\n) as dbt_incr_differing group by ' ~ by | join(', ') ~ ') as dbt_incr_keys').rows[0][0] %}
        {%- set rows = run_query('select * from (select ' ~ names | join(', ') ~ ', dbt_incr_in_table, dbt_incr_in_full_refresh, dense_rank() over (order by ' ~ by | join(', ') ~ ') as dbt_incr_rank from ('
            ~ differing_rows ~ '\n) as dbt_incr_differing) as dbt_incr_ranked where dbt_incr_rank <= ' ~ sample ~ ' order by dbt_incr_rank, dbt_incr_in_table').rows %}
        {%- for row in rows %}
            {%- set values = {} %}
            {%- for c in columns %}{% do values.update({c.name: (row[loop.index0] | string) if row[loop.index0] is not none else none}) %}{% endfor %}
            {%- do result['sample'].append({'table': row[columns | length] | int, 'full_refresh': row[columns | length + 1] | int, 'values': values}) %}
        {%- endfor %}
        {%- do result.update({'keys_differing': keys | int}) %}
    {%- endif %}
    {%- do result.update({'status': 'different' if differing or result['only_table_columns'] or result['only_full_refresh_columns'] else 'equal'}) %}
    {%- do adapter.dispatch('dbt_incr_verify_drop')(relation) %}
    {{ return(result) }}
{% endmacro %}

{#- The full-refresh query as something to select from. -#}
{% macro default__dbt_incr_verify_expected(query, relation) -%}
    {{ return('(\n' ~ query ~ '\n) as dbt_incr_expected') }}
{%- endmacro %}

{% macro default__dbt_incr_verify_drop(relation) -%}
{%- endmacro %}

{#- SQL Server takes no WITH inside a subquery, so the query becomes a view beside the table,
    dropped when the comparison is done (and before, if an interrupted run left it).
    https://learn.microsoft.com/sql/t-sql/queries/with-common-table-expression-transact-sql -#}
{% macro sqlserver__dbt_incr_verify_expected(query, relation) -%}
    {%- set view = _dbt_incr_verify_view(relation) %}
    {%- do sqlserver__dbt_incr_verify_drop(relation) %}
    {%- call statement('dbt_incr_verify_view') %}create view {{ view }} as {{ query }}{% endcall %}
    {{ return(view ~ ' as dbt_incr_expected') }}
{%- endmacro %}

{% macro sqlserver__dbt_incr_verify_drop(relation) -%}
    {%- call statement('dbt_incr_verify_drop') %}drop view if exists {{ _dbt_incr_verify_view(relation) }}{% endcall %}
{%- endmacro %}

{% macro _dbt_incr_verify_view(relation) -%}
    {{ return(api.Relation.create(database=relation.database, schema=relation.schema, identifier=relation.identifier ~ '__dbt_incr_verify', type='view')) }}
{%- endmacro %}
