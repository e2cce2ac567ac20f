"""ClickHouse 26.9 (chdb 4.4, in-process) through dbt-clickhouse, behind tests/engines/clickhouse/
server.py: ClickHouse's HTTP interface on a free loopback port, in a subprocess, data in the work
directory."""

import os
import re
import subprocess
import sys
from pathlib import Path

from engines.base import *  # noqa: F401,F403

DIALECT = "clickhouse"
PROOF = "real engine (chdb 4.4, ClickHouse 26.9)"
VENV = ""
CI = True
# dbt-clickhouse: delete+insert is its delete_insert; append inserts by position (dbt-incr refuses
# it without `columns`); dbt-incr refuses microbatch here.
STRATEGIES = ["delete+insert", "append"]
MICROBATCH_KEYED = None
APPEND_BY_POSITION = True

# Fixture types. Columns are Nullable (fixtures hold NULLs) except timestamps: a plain DateTime
# (ClickHouse's TIMESTAMP), whose max() over no rows is 1970-01-01, not NULL - the type an empty
# target's watermark went wrong on. No fixture has a NULL or sub-second timestamp.
# DBT_INCR_CLICKHOUSE_TIMESTAMP=DateTime64(6) (or Nullable(...)) runs the suite with another one.
TIMESTAMP = os.environ.get("DBT_INCR_CLICKHOUSE_TIMESTAMP", "DateTime")

ROOT = Path(__file__).resolve().parents[3]
_server: subprocess.Popen | None = None
_port = 0


def column_type(fixture_type: str) -> str:
    t = fixture_type.lower()
    if t == "timestamp":
        return TIMESTAMP
    if t == "integer":
        return "Nullable(Int32)"
    if m := re.fullmatch(r"numeric\((\d+),\s*(\d+)\)", t):
        return f"Nullable(Decimal({m[1]}, {m[2]}))"
    if t.startswith("varchar"):
        return "Nullable(String)"
    if t == "boolean":
        return "Nullable(Bool)"
    if t == "date":
        return "Nullable(Date)"
    raise ValueError(f"no ClickHouse type for fixture type {fixture_type!r}")


def literal(value: str, fixture_type: str) -> str:
    sql_type = column_type(fixture_type)
    if value == "":
        return f"cast(null as {sql_type})"
    return "cast('" + value.replace("\\", "\\\\").replace("'", "\\'") + f"' as {sql_type})"


def reset_sql(schemas: list[str]) -> list[str]:
    # chdb's data directory is new for every run (in the work directory), so its databases are
    # empty. Not dropped: the session's own database (dbt-clickhouse sends `database=inc` with
    # every statement) could not be named by the next one.
    return [f"create database if not exists {s}" for s in schemas]


def create_table_sql(table: str, columns: dict[str, str]) -> str:
    # The block number/offset columns let the fixtures' UPDATE statements run (lightweight updates).
    cols = ", ".join(f"{c} {column_type(t)}" for c, t in columns.items())
    return (f"create table {table} ({cols}) engine = MergeTree order by tuple()"
            " settings enable_block_number_column = 1, enable_block_offset_column = 1")


def delete_all_sql(table: str) -> str:
    return f"delete from {table} where true"  # ClickHouse's DELETE needs a WHERE


def start(workdir) -> None:
    global _server, _port
    log = workdir / "clickhouse-server.log"
    _server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "engines" / "clickhouse" / "server.py"), "--port", "0", "--path", str(workdir / "chdb")],
        stdout=subprocess.PIPE, stderr=log.open("w"), text=True, env={**os.environ, "TZ": "UTC"},
    )
    line = _server.stdout.readline()  # "listening on 127.0.0.1:PORT" once it accepts, "" if it died
    if not line.startswith("listening on "):
        stop()
        raise RuntimeError(f"the ClickHouse HTTP shim did not start: {line or log.read_text()[-2000:]}")
    _port = int(line.rsplit(":", 1)[1])


def stop() -> None:
    if _server is not None and _server.poll() is None:
        _server.terminate()
        _server.wait(timeout=30)
    if _server is not None and _server.stdout:
        _server.stdout.close()


def output(workdir, name: str, schema: str) -> dict:
    return {
        "type": "clickhouse", "driver": "http", "host": "127.0.0.1", "port": _port,
        "user": "default", "password": "", "schema": schema, "threads": 1,
    }
