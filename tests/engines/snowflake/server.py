"""fakesnow's HTTP server, with the emulator fixes dbt-snowflake needs (see README.md here).

    python server.py        binds 127.0.0.1 on a free port, prints the port on one line of
                            stdout, then serves until SIGTERM/SIGINT (logs on stderr)

Each fix patches one fakesnow hook, for one statement shape dbt-snowflake sends; none changes
what a statement means on Snowflake:

1. qualified temporary relation  `create [or replace] temporary table|view db.schema.x`
2. MERGE insert values           `when not matched then insert (...) values ("COL", ...)`
3. MERGE inside a transaction    `begin; merge ...; commit;`
4. a failed statement            roll back a transaction DuckDB has aborted; no HTTP 500
5. "does not exist" errors       Snowflake's "does not exist or not authorized" text

Pinned to fakesnow 0.12.1 (tests/engines/requirements-snowflake.txt): the hooks are its private
methods, so a new version needs this file re-checked (python selftest.py).
"""

from __future__ import annotations

import json
import socket
import sys

import duckdb
import snowflake.connector.errors
import uvicorn
from sqlglot import exp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import fakesnow.server
from fakesnow.cursor import FakeSnowflakeCursor

ProgrammingError = snowflake.connector.errors.ProgrammingError

# ---------------------------------------------------------------------------------------------
# 1. A qualified temporary relation.


def qualified_temporary(expression: exp.Expr) -> exp.Expr:
    """`create [or replace] temporary table|view db.schema.x ...` -> the same without TEMPORARY.

    dbt-snowflake creates its tmp relation as `<db>.<schema>.<model>__dbt_tmp` and reads it back
    by that qualified name. DuckDB keeps temporary objects in its own `temp` catalog and refuses a
    qualified name ("TEMPORARY table names can *only* use the temp catalog"), and a temporary
    object created unqualified would not be found by the qualified name. So it is created as a
    permanent object under the same name, with the same definition; dbt drops it at the end of
    the model (`drop view|table if exists ...`). Unqualified temporary objects (fakesnow's own
    MERGE_CANDIDATES) are left alone.
    """
    if isinstance(expression, exp.Create) and expression.kind in ("TABLE", "VIEW"):
        target = expression.this.this if isinstance(expression.this, exp.Schema) else expression.this
        props = expression.args.get("properties")
        if isinstance(target, exp.Table) and target.db and props is not None:
            for prop in [p for p in props.expressions if isinstance(p, exp.TemporaryProperty)]:
                prop.pop()
    return expression


# ---------------------------------------------------------------------------------------------
# 2. MERGE ... WHEN NOT MATCHED THEN INSERT (...) VALUES ("COL", ...).


def merge_insert_values(expression: exp.Expr) -> exp.Expr:
    """Qualifies the unqualified columns of a WHEN NOT MATCHED ... VALUES list with the source's
    alias (dbt: DBT_INTERNAL_SOURCE).

    A NOT MATCHED clause has no target row, so on Snowflake `"COL"` there can only be the
    source's column. fakesnow runs the MERGE through `target FULL OUTER JOIN source`, where an
    unqualified `"COL"` names a column of both sides: DuckDB fails with an ambiguous reference.
    """
    if not isinstance(expression, exp.Merge):
        return expression
    source = expression.args["using"].alias_or_name
    for when in expression.args["whens"]:
        then = when.args.get("then")
        if when.args.get("matched") or not isinstance(then, exp.Insert) or then.expression is None:
            continue
        for column in then.expression.find_all(exp.Column):
            if not column.table:
                column.set("table", exp.to_identifier(source))
    return expression


_transform_explode = FakeSnowflakeCursor._transform_explode


def transform_explode(self: FakeSnowflakeCursor, expression: exp.Expr) -> list[exp.Expr]:
    return _transform_explode(self, merge_insert_values(qualified_temporary(expression)))


FakeSnowflakeCursor._transform_explode = transform_explode

# ---------------------------------------------------------------------------------------------
# 3. MERGE inside `begin; ... commit;`.

_transform = FakeSnowflakeCursor._transform


def transform(self: FakeSnowflakeCursor, expression: exp.Expr, params) -> exp.Expr:
    """fakesnow runs a MERGE as `create or replace temporary table merge_candidates as ...` then
    UPDATE/DELETE/INSERTs. Like any CREATE TABLE with properties, that first statement also
    records the table's (absent) comment in fakesnow's metadata database `_fs_global`. Inside
    dbt-snowflake's `begin; merge ...; commit;` DuckDB refuses that second database's write ("a
    single transaction can only write to a single attached database"). fakesnow's internal table
    has no comment: its bookkeeping is skipped, and the MERGE runs inside the transaction.
    """
    transformed = _transform(self, expression, params)
    comment = transformed.args.get("table_comment")
    if (
        isinstance(transformed, exp.Create)
        and comment is not None
        and comment[1] is None
        and not comment[0].db
        and comment[0].name.upper() == "MERGE_CANDIDATES"
    ):
        del transformed.args["table_comment"]
    return transformed


FakeSnowflakeCursor._transform = transform

# ---------------------------------------------------------------------------------------------
# 4. and 5. A failed statement.

_execute = FakeSnowflakeCursor.execute


def execute(self: FakeSnowflakeCursor, *args, **kwargs):
    """After a failed statement inside a transaction DuckDB refuses every later statement
    ("Current transaction is aborted (please ROLLBACK)"), fakesnow answers those with HTTP 500,
    and the Snowflake connector retries a 500 for ever: the dbt run hangs. So a transaction that
    DuckDB has aborted is rolled back (its writes are already lost in DuckDB; dbt never commits
    after a failed statement), and an error fakesnow does not map is raised as ProgrammingError
    (an ordinary SQL error for the client) instead of escaping as a 500.

    A "does not exist" catalog error gets Snowflake's wording ("... does not exist or not
    authorized."), which dbt-snowflake's get_columns_in_relation looks for to return [] for a
    missing relation (impl.py); DuckDB's text follows.
    """
    try:
        return _execute(self, *args, **kwargs)
    except Exception as e:
        _end_aborted_transaction(self)
        if isinstance(e, ProgrammingError):
            text = e.raw_msg or ""
            if e.errno == 2003 and "does not exist" in text and "not authorized" not in text:
                raise ProgrammingError(
                    msg=f"SQL compilation error:\nObject does not exist or not authorized. ({text})",
                    errno=e.errno,
                    sqlstate=e.sqlstate,
                ) from e
            raise
        raise ProgrammingError(msg=f"{type(e).__name__}: {e}", errno=9999, sqlstate="99999") from e


def _end_aborted_transaction(cursor: FakeSnowflakeCursor) -> None:
    try:
        cursor._duck_conn.execute("select 1")
    except duckdb.TransactionException:
        cursor._duck_conn.rollback()
        cursor._conn._in_transaction = False


FakeSnowflakeCursor.execute = execute


def _no_500(endpoint):
    """The same, for a 500 raised outside the cursor (e.g. while converting a result)."""

    async def wrapped(request: Request) -> Response:
        response = await endpoint(request)
        if response.status_code != 500:
            return response
        body = json.loads(response.body)
        code = body.get("code") or "261000"
        return JSONResponse({
            "data": {"errorCode": code, "sqlState": "XX000"},
            "code": code,
            "message": body.get("message") or "fakesnow: internal error",
            "success": False,
        })

    return wrapped


app = Starlette(routes=[
    Route(r.path, _no_500(r.endpoint) if r.path == "/queries/v1/query-request" else r.endpoint, methods=list(r.methods or []))
    for r in fakesnow.server.app.routes
])


def main() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts them
    print(sock.getsockname()[1], flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="info", access_log=False)).run(sockets=[sock])


if __name__ == "__main__":
    main()
