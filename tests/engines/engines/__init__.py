"""The engines the real-engine suite runs on: one module each.

tests/engines/run reads a module's constants with the system python, so modules import their
engine's libraries inside functions, never at module level. Each module defines:

    DIALECT            the dbt-incr dialect (and dbt adapter type)
    PROOF              what a pass proves: "real engine" or "emulated (…)"
    VENV               requirements file and venv: "" -> tests/engines/requirements.txt, .venv;
                       "x" -> tests/engines/requirements-x.txt, .venv-x (made by scripts/python-env x)
    CI                 whether scripts/test runs it by default
    STRATEGIES         strategies the suite runs on it (append only for key-less scenarios)
    MICROBATCH_KEYED   True: microbatch only with a unique_key; False: only without; None: never
    APPEND_BY_POSITION (engines/base.py: False) True: the adapter appends by column position, so
                       dbt-incr requires `columns` there; append models get the first table's
    start(workdir)     start servers or sessions (in the suite's process)
    stop()             stop them
    output(workdir, name, schema)   a dbt profile output (dict)
    SPEC_DEFAULTS      spec keys merged into every model's spec entry (the scenario's own keys
                       win), e.g. a table format the engine needs (engines/base.py: none)

and may override the SQL helpers of engines/base.py (column types, literals, schemas, tables),
and set SKIP = {scenario: reason} for scenarios the engine (an emulator) cannot run at all; the
report lists them with the reason.
"""

import importlib

# In the order the report lists them.
ALL = ["duckdb", "postgres", "clickhouse", "spark", "snowflake", "bigquery"]


def load(name: str):
    return importlib.import_module(f"engines.{name}")
