"""DuckDB through dbt-duckdb, in a file of the work directory."""

from engines.base import *  # noqa: F401,F403

DIALECT = "duckdb"
PROOF = "real engine"
VENV = ""
CI = True
STRATEGIES = ["delete+insert", "merge", "append", "microbatch"]
# dbt-duckdb replaces a batch's event window and rejects unique_key: microbatch without a key.
MICROBATCH_KEYED = False


def start(workdir) -> None:
    pass


def stop() -> None:
    pass


def output(workdir, name: str, schema: str) -> dict:
    return {"type": "duckdb", "path": str(workdir / f"{name}.duckdb"), "schema": schema, "threads": 1}
