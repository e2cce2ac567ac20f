"""ClickHouse 26.9 (chdb 4.4, in-process) through dbt-clickhouse, behind tests/engines/clickhouse/
server.py: ClickHouse's HTTP interface on a free loopback port, in a subprocess, data in the work
directory."""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
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
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    _port = s.getsockname()[1]
    s.close()
    log = open(workdir / "clickhouse-server.log", "w")
    _server = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "engines" / "clickhouse" / "server.py"), "--port", str(_port), "--path", str(workdir / "chdb")],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "TZ": "UTC"},
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{_port}/ping", timeout=1) as r:
                if r.read() == b"Ok.\n":
                    return
        except OSError:
            pass
        if _server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the ClickHouse HTTP shim did not start (see {workdir / 'clickhouse-server.log'})")
        time.sleep(0.05)


def stop() -> None:
    if _server is not None and _server.poll() is None:
        _server.terminate()
        _server.wait(timeout=30)


def output(workdir, name: str, schema: str) -> dict:
    return {
        "type": "clickhouse", "driver": "http", "host": "127.0.0.1", "port": _port,
        "user": "default", "password": "", "schema": schema, "threads": 1,
    }
