"""Snowflake, emulated: dbt-snowflake 1.11.6 (its own materializations, unchanged) against
fakesnow 0.12.1's HTTP server on 127.0.0.1, which runs Snowflake SQL on DuckDB. The server is
tests/engines/snowflake/server.py: fakesnow with five small emulator fixes (protocol plumbing,
listed in tests/engines/snowflake/README.md), started on a free loopback port in a child process.

What a pass proves here: dbt-snowflake's statements for merge, delete+insert, append and
microbatch (the tmp view/table, MERGE, delete+insert, the microbatch window delete + insert),
run over dbt-incr's generated Snowflake SQL, keep the promise - as DuckDB evaluates that SQL.

NOT emulated (a pass says nothing about these; see docs/dialects/snowflake.md):
- the session TIMEZONE: fakesnow runs every session in UTC (DuckDB `TimeZone = 'UTC'`, and it
  reports TIMEZONE=Etc/UTC), so the microbatch batch filter vs. the adapter's
  `to_timestamp_tz('...+00:00')` delete is never tested in a non-UTC session (Snowflake's
  default is America/Los_Angeles);
- TIMESTAMP_LTZ / TIMESTAMP_TZ semantics: all are DuckDB TIMESTAMPTZ, and NTZ/LTZ/TZ
  comparisons do not follow Snowflake's coercion rules;
- ERROR_ON_NONDETERMINISTIC_MERGE: a target row matched by two source rows is updated from one
  of them silently, where Snowflake fails the MERGE ("Duplicate row detected during DML action");
- anything else fakesnow's SQL translation does differently from Snowflake (types are DuckDB's,
  identifiers are upper-cased by fakesnow, not by a Snowflake parser).
"""

import subprocess
import sys
from pathlib import Path

from engines.base import *  # noqa: F401,F403

DIALECT = "snowflake"
PROOF = "emulated (fakesnow 0.12.1 on DuckDB)"
VENV = "snowflake"
# ~1.5 min to install the venv (463 MB, pyarrow and DuckDB), ~1.5-4 min for the suite on 2 cores.
CI = True
STRATEGIES = ["delete+insert", "merge", "append", "microbatch"]
# dbt-snowflake replaces a batch's event window (delete by event time, then insert) whatever the
# unique_key; dbt-incr refuses keyed microbatch on snowflake, so microbatch runs key-less only.
MICROBATCH_KEYED = False

SERVER = Path(__file__).resolve().parents[1] / "snowflake" / "server.py"
_server: subprocess.Popen | None = None
_port: int | None = None


def start(workdir) -> None:
    """Starts fakesnow's server (this venv's python) and waits for the port it prints once it
    listens; its log is workdir/fakesnow.log."""
    global _server, _port
    log = open(workdir / "fakesnow.log", "w")
    _server = subprocess.Popen([sys.executable, str(SERVER)], stdout=subprocess.PIPE, stderr=log, text=True)
    line = _server.stdout.readline()
    if not line.strip().isdigit():
        _server.kill()
        raise RuntimeError(f"fakesnow server did not start (see {workdir / 'fakesnow.log'})")
    _port = int(line)


def stop() -> None:
    if _server is not None and _server.poll() is None:
        _server.terminate()
        try:
            _server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _server.kill()
            _server.wait()


def output(workdir, name: str, schema: str) -> dict:
    # fakesnow accepts any account/user/password; one in-memory DuckDB shared by all sessions.
    return {
        "type": "snowflake", "account": "fakesnow", "user": "fake", "password": "snow",
        "host": "127.0.0.1", "port": _port, "protocol": "http",
        "database": "dbt_incr", "warehouse": "fakesnow", "schema": schema, "threads": 1,
    }


def column_type(fixture_type: str) -> str:
    # Snowflake's `timestamp` is whatever TIMESTAMP_TYPE_MAPPING says (NTZ by default): pin NTZ.
    return "timestamp_ntz" if fixture_type == "timestamp" else fixture_type


def literal(value: str, fixture_type: str) -> str:
    sql_type = column_type(fixture_type)
    if value == "":
        return f"cast(null as {sql_type})"
    return "cast('" + value.replace("'", "''") + f"' as {sql_type})"


def create_table_sql(table: str, columns: dict[str, str]) -> str:
    return f"create table {table} ({', '.join(f'{c} {column_type(t)}' for c, t in columns.items())})"
