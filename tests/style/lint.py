"""sqlfluff CP01 over generated models, both keyword cases, every branch (see tests/style/run)."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BIN = ROOT / "target" / "release" / "dbt-incr"
SQLFLUFF = Path(sys.executable).parent / "sqlfluff"

# dbt-incr dialect -> sqlfluff dialect.
DIALECTS = {"postgres": "postgres", "snowflake": "snowflake", "bigquery": "bigquery", "sqlserver": "tsql"}
# Columns the stub catalog reports for every input (a superset of what the spec names).
COLUMNS = "event_id,order_id,line_no,customer_id,amount,event_at,loaded_at,is_deleted"

SPEC = """version: 1
dialect: {dialect}
keyword_case: {case}
models:
  - name: fct_events
    from: source('raw', 'events')
    unique_key: event_id
    load_time: loaded_at
    event_time: event_at
    deleted: is_deleted
  - name: fct_order_lines
    from: ref('stg_order_lines')
    unique_key: [order_id, line_no]
    load_time: loaded_at
    columns: [order_id, line_no, amount, loaded_at]
"""

CONFIG = """[sqlfluff]
dialect = {dialect}
templater = jinja
rules = capitalisation.keywords

[sqlfluff:templater:jinja]
apply_dbt_builtins = False
load_macros_from_path = lint_macros
library_path = {libs}

[sqlfluff:rules:capitalisation.keywords]
capitalisation_policy = {policy}
"""


def lint(project: Path, dialect: str, policy: str, branch: str) -> tuple[int, str]:
    (project / ".sqlfluff").write_text(CONFIG.format(dialect=DIALECTS[dialect], policy=policy, libs=HERE / "sqlfluff_libs"))
    env = {**os.environ, "DBT_INCR_BRANCH": branch, "DBT_INCR_DIALECT": dialect, "DBT_INCR_COLUMNS": COLUMNS}
    p = subprocess.run([str(SQLFLUFF), "lint", "models", "--nofail", "--format", "json"], cwd=project, env=env, capture_output=True, text=True)
    import json

    files = json.loads(p.stdout or "[]")
    if len(files) != 2:
        raise SystemExit(f"sqlfluff linted {len(files)} files, not the 2 models ({dialect}, {branch}): {p.stderr[-2000:]}")
    problems = [f"{f['filepath']}:{v['start_line_no']} {v['code']} {v['description']}" for f in files for v in f["violations"]]
    unparsed = [p for p in problems if " TMP " in p or " PRS " in p]
    if unparsed:
        raise SystemExit(f"sqlfluff could not render or parse ({dialect}, {branch}):\n  " + "\n  ".join(unparsed))
    return len(problems), "\n  ".join(problems[:5])


def main() -> int:
    failures = []
    work = Path(tempfile.mkdtemp(prefix="dbt-incr-style-"))
    try:
        for dialect in DIALECTS:
            for case in ("lower", "upper"):
                project = work / f"{dialect}-{case}"
                (project / "models").mkdir(parents=True)
                (project / "dbt_project.yml").write_text("name: style\nprofile: style\nmodel-paths: [models]\nmacro-paths: [macros]\n")
                (project / "incremental.yml").write_text(SPEC.format(dialect=dialect, case=case))
                subprocess.run([str(BIN), "generate", "--project", str(project), "--quiet"], check=True)
                # The generic test is dbt's `{% test %}` block, which plain Jinja does not know.
                shutil.copytree(project / "macros" / "dbt_incr", project / "lint_macros", ignore=shutil.ignore_patterns("unique_combination.sql"))
                other = "upper" if case == "lower" else "lower"
                for branch in ("full-refresh", "incremental", "backfill"):
                    found, sample = lint(project, dialect, case, branch)
                    if found:
                        failures.append(f"{dialect} keyword_case={case} {branch}: {found} CP01 violations with capitalisation_policy={case}:\n  {sample}")
                    against, _ = lint(project, dialect, other, branch)
                    if not against:
                        failures.append(f"{dialect} keyword_case={case} {branch}: no violation with capitalisation_policy={other}: the check cannot fail")
                    print(f"{dialect:<10} keyword_case={case:<6} {branch:<13} policy {case}: {found} violations; policy {other}: {against}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for f in failures:
        print("FAIL " + f)
    print(f"sqlfluff: {'ok' if not failures else f'{len(failures)} failures'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
