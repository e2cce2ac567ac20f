"""Checks each fix of server.py through the Snowflake connector, over HTTP, as dbt-snowflake uses
it: the statement shapes dbt-snowflake sends run, and give the rows Snowflake gives.

    .venv-snowflake/bin/python tests/engines/snowflake/selftest.py     (about 3 s; exit 1 on failure)
"""

import subprocess
import sys
from pathlib import Path

import snowflake.connector

SERVER = Path(__file__).resolve().parent / "server.py"


def main() -> int:
    server = subprocess.Popen([sys.executable, str(SERVER)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = int(server.stdout.readline())
    failures = []
    checks = []
    try:
        con = snowflake.connector.connect(
            account="fakesnow", user="fake", password="snow", host="127.0.0.1", port=port, protocol="http",
            database="db", schema="s", network_timeout=10,
        )
        cur = con.cursor()

        def rows(sql):
            cur.execute(sql)
            return cur.fetchall()

        def check(name, got, want):
            checks.append(name)
            print(f"{'ok  ' if got == want else 'FAIL'} {name}: {got}")
            if got != want:
                failures.append(f"{name}: got {got}, want {want}")

        rows("create table db.s.t (k int, v varchar)")
        rows("insert into db.s.t values (1, 'old'), (3, 'keep')")
        # 1. qualified temporary view, read back by its qualified name, then dropped (as dbt does)
        rows("create or replace temporary view db.s.t__dbt_tmp as (select 1 as k, 'new' as v union all select 2, 'two')")
        check("1 qualified temporary view", rows("select count(*) from db.s.t__dbt_tmp"), [(2,)])
        rows("create or replace temporary table db.s.t__tmp2 as (select 1 as k)")
        check("1 qualified temporary table", rows("select count(*) from db.s.t__tmp2"), [(1,)])
        # 2. + 3. dbt-snowflake's MERGE, unqualified VALUES, inside begin/commit
        rows("begin")
        rows('''merge into db.s.t as DBT_INTERNAL_DEST using db.s.t__dbt_tmp as DBT_INTERNAL_SOURCE
                on (DBT_INTERNAL_SOURCE.k = DBT_INTERNAL_DEST.k)
                when matched then update set "K" = DBT_INTERNAL_SOURCE."K", "V" = DBT_INTERNAL_SOURCE."V"
                when not matched then insert ("K", "V") values ("K", "V")''')
        rows("commit")
        rows("drop view if exists db.s.t__dbt_tmp cascade")
        check("2+3 merge in a transaction", rows("select k, v from db.s.t order by k"), [(1, "new"), (2, "two"), (3, "keep")])
        # 3. a merge rolled back leaves the target as it was (it ran inside the transaction)
        rows("begin")
        rows("merge into db.s.t as d using (select 9 as k, 'x' as v) as s on s.k = d.k when not matched then insert (k, v) values (k, v)")
        rows("rollback")
        check("3 merge rolled back", rows("select count(*) from db.s.t"), [(3,)])
        # 4. a failed statement inside a transaction: an error, then the session works
        rows("begin")
        rows("insert into db.s.t values (4, 'lost')")
        try:
            rows("select cast(1e30 as int)")
            check("4 failing statement raises", "no error", "ProgrammingError")
        except snowflake.connector.errors.ProgrammingError:
            check("4 failing statement raises", "ProgrammingError", "ProgrammingError")
        rows("commit")
        # DuckDB aborted the transaction, so its insert is gone (Snowflake would keep the transaction
        # open and commit it: 4 rows); what matters is that the session answers instead of hanging.
        check("4 session usable after a failure", rows("select count(*) from db.s.t"), [(3,)])
        # 5. Snowflake's text for a missing relation
        try:
            rows("describe table db.s.nope")
            check("5 missing relation", "no error", "does not exist or not authorized")
        except snowflake.connector.errors.ProgrammingError as e:
            check("5 missing relation", "does not exist or not authorized" in str(e), True)
        con.close()
    finally:
        server.terminate()
        server.wait()
    print(f"{len(checks) - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
