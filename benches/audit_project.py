"""Writes a dbt project of N hand-written models for timing `dbt-incr audit` (issue 12):
real-looking incremental models of the shapes the rules read (CTEs, macro-held filters, package
macros, dedup, Jinja watermarks), plus views and tables, and optionally target/manifest.json
and target/catalog.json (the same models, as `dbt parse` and `dbt docs generate` would list them).

    python3 benches/audit_project.py DIR [--models 5000] [--manifest]
"""
import argparse, json, pathlib

SHAPES = [
    # merge with a lookback and a dedup
    """{{{{ config(materialized='incremental', unique_key='id', incremental_strategy='merge') }}}}
with batch as (
    select id, account_id, amount, status, _loaded_at
    from {{{{ source('raw', 'events_{i}') }}}}
    {{% if is_incremental() %}}
    where _loaded_at > (select coalesce(max(_loaded_at), '1900-01-01') - interval '3 days' from {{{{ this }}}})
    {{% endif %}}
)
select * from batch
qualify row_number() over (partition by id order by _loaded_at desc, status, amount) = 1
""",
    # a project macro holds the filter, a package macro builds the key
    """{{{{ config(materialized='incremental', unique_key='order_key') }}}}
select
    {{{{ bench_utils.surrogate_key(['order_id', 'line_no']) }}}} as order_key,
    order_id, line_no, quantity, _loaded_at
from {{{{ ref('stg_lines_{i}') }}}}
{{{{ incremental_window('_loaded_at', 2) }}}}
""",
    # a watermark read into Jinja
    """{{{{ config(materialized='incremental', unique_key=['account_id', 'day'], incremental_strategy='delete+insert') }}}}
{{% if is_incremental() %}}
    {{% set watermark = run_query("select coalesce(max(_loaded_at), '1900-01-01') - interval '1 day' from " ~ this).columns[0].values()[0] %}}
{{% endif %}}
select account_id, day, sum(amount) as amount, max(_loaded_at) as _loaded_at
from {{{{ ref('stg_ledger_{i}') }}}}
{{% if is_incremental() %}}
where _loaded_at > '{{{{ watermark }}}}'
{{% endif %}}
group by 1, 2
""",
    # a clock window, an else branch
    """{{{{ config(materialized='incremental', unique_key='session_id') }}}}
select session_id, user_id, started_at, _loaded_at
from {{{{ source('web', 'sessions_{i}') }}}}
{{% if is_incremental() %}}
where started_at >= current_date - interval '3 days'
{{% else %}}
where started_at >= '2020-01-01'
{{% endif %}}
""",
    # not incremental
    """{{{{ config(materialized='table') }}}}
select customer_id, count(*) as orders from {{{{ ref('stg_orders_{i}') }}}} group by 1
""",
]

MACROS = """{% macro incremental_window(column, days) -%}
{%- if is_incremental() %}
where {{ column }} > (select coalesce(max({{ column }}), '1900-01-01') - interval '{{ days }} days' from {{ this }})
{%- endif -%}
{%- endmacro %}
"""
PACKAGE = """{% macro surrogate_key(fields) -%}
    {{ return(adapter.dispatch('surrogate_key', 'bench_utils')(fields)) }}
{%- endmacro %}
{% macro default__surrogate_key(fields) -%}
    {%- set parts = [] -%}
    {%- for f in fields -%}{%- do parts.append("coalesce(cast(" ~ f ~ " as varchar), '')") -%}{%- endfor -%}
    md5({{ parts | join(" || '-' || ") }})
{%- endmacro %}
"""

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--models", type=int, default=5000)
    ap.add_argument("--manifest", action="store_true")
    a = ap.parse_args()
    root = pathlib.Path(a.dir)
    (root / "macros").mkdir(parents=True, exist_ok=True)
    (root / "dbt_packages/bench_utils/macros").mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text("name: bench\nprofile: bench\nmodel-paths: [models]\n")
    (root / "profiles.yml").write_text("bench:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: bench.duckdb\n")
    (root / "macros/windows.sql").write_text(MACROS)
    (root / "dbt_packages/bench_utils/dbt_project.yml").write_text("name: bench_utils\n")
    (root / "dbt_packages/bench_utils/macros/keys.sql").write_text(PACKAGE)
    nodes = {}
    for i in range(a.models):
        shape = SHAPES[i % len(SHAPES)]
        folder = root / "models" / f"domain_{i % 50}"
        folder.mkdir(parents=True, exist_ok=True)
        text = shape.format(i=i)
        path = folder / f"model_{i}.sql"
        path.write_text(text)
        materialized = "table" if "materialized='table'" in text else "incremental"
        nodes[f"model.bench.model_{i}"] = {
            "resource_type": "model", "package_name": "bench", "name": f"model_{i}", "language": "sql",
            "original_file_path": str(path.relative_to(root)), "raw_code": text,
            "config": {"materialized": materialized}, "columns": {},
        }
    if a.manifest:
        (root / "target").mkdir(exist_ok=True)
        (root / "target/manifest.json").write_text(json.dumps({"nodes": nodes, "sources": {}}))
        (root / "target/catalog.json").write_text(json.dumps({"nodes": {}, "sources": {}}))

main()
