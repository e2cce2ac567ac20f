"""Differential suite: the SQL generated models compile to, run on every in-process engine.

For every case (a fixture folder under tests/differential/cases/, format in README.md) and every
model x branch (full-refresh, incremental, backfill) x engine (DuckDB, PostgreSQL 15, ClickHouse
through chdb, Spark through local pyspark), this:

1. creates the case's tables in fresh schemas with the engine's own type for each logical type
   (plus the case's per-engine overrides) and loads the same CSV rows into each;
2. asks the engine for the model input's columns and types (what dbt's
   adapter.get_columns_in_relation would return) and compiles the branch with
   `dbt-incr compile MODEL --dialect ENGINE --branch B --columns name:type,...`;
3. runs the compiled SELECT, fetches its rows, normalizes them (timestamps to microseconds,
   decimals to a canonical string, floats rounded, NULL as None) and compares them as a multiset
   with DuckDB's rows (the reference) and with the case's expected rows when it gives them.

A refusal (`dbt-incr compile` exits 2 with `dbt_incr:`) is a result of its own, and must happen
on every dialect alike. One Python process, one connection or session per engine, one
SparkSession for the whole run. Run through tests/differential/run (starts PostgreSQL).
Options: --engine NAME, --case NAME (repeatable), --keep, --show-sql.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

# Every engine session and this process in UTC (pyspark turns timestamps into Python datetimes in
# the process's local time zone).
os.environ["TZ"] = "UTC"
time.tzset()
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

import yaml  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CASES = HERE / "cases"
BIN = Path(os.environ.get("DBT_INCR_BIN", ROOT / "target" / "release" / "dbt-incr"))

ENGINES = ["duckdb", "postgres", "clickhouse", "spark"]
REFERENCE = "duckdb"
BRANCHES = ["full-refresh", "incremental", "backfill"]
MOCK_SCHEMA = "analytics"  # where compile's mock puts {{ this }} and ref()

# Logical column type -> each engine's physical type.
TYPES = {
    "duckdb": {"integer": "INTEGER", "bigint": "BIGINT", "text": "VARCHAR", "timestamp": "TIMESTAMP", "date": "DATE",
               "decimal": "DECIMAL(18,4)", "double": "DOUBLE", "boolean": "BOOLEAN"},
    "postgres": {"integer": "integer", "bigint": "bigint", "text": "text", "timestamp": "timestamp", "date": "date",
                 "decimal": "numeric(18,4)", "double": "double precision", "boolean": "boolean"},
    "clickhouse": {"integer": "Nullable(Int32)", "bigint": "Nullable(Int64)", "text": "Nullable(String)",
                   "timestamp": "Nullable(DateTime64(6))", "date": "Nullable(Date)", "decimal": "Nullable(Decimal(18,4))",
                   "double": "Nullable(Float64)", "boolean": "Nullable(Bool)"},
    "spark": {"integer": "int", "bigint": "bigint", "text": "string", "timestamp": "timestamp", "date": "date",
              "decimal": "decimal(18,4)", "double": "double", "boolean": "boolean"},
}
FLOAT_DIGITS = 9


# ---------------------------------------------------------------------------------------------
# Normalized values: what the engines' rows are compared as


class Typed:
    """A decimal, timestamp or date value in canonical text; equal only to the same kind and text,
    so a decimal never equals a string or an integer that reads the same."""

    __slots__ = ("kind", "text")

    def __init__(self, kind: str, text: str):
        self.kind, self.text = kind, text

    def __eq__(self, other):
        return isinstance(other, Typed) and (self.kind, self.text) == (other.kind, other.text)

    def __hash__(self):
        return hash((self.kind, self.text))

    def __repr__(self):
        return self.text


def canonical_decimal(d: Decimal) -> str:
    if not d.is_finite():
        return str(d)
    s = format(d.normalize(), "f")
    return "0" if s in ("-0", "0") else s


def norm_timestamp(v: dt.datetime) -> Typed:
    if v.tzinfo is not None:
        v = v.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return Typed("timestamp", v.strftime("%Y-%m-%d %H:%M:%S.%f"))


def normalize(v):
    """One fetched value, whatever the driver made of it, in comparable form."""
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return Typed("float", str(v))
        r = round(v, FLOAT_DIGITS)
        return 0.0 if r == 0 else r
    if isinstance(v, Decimal):
        return Typed("decimal", canonical_decimal(v))
    if isinstance(v, dt.datetime):
        return norm_timestamp(v)
    if isinstance(v, dt.date):
        return Typed("date", v.isoformat())
    if isinstance(v, str):
        return v
    if hasattr(v, "item"):  # numpy scalars
        return normalize(v.item())
    return Typed(type(v).__name__, str(v))


def parse_timestamp(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.strip().replace("T", " "))


def parse_logical(text: str, logical: str | None):
    """A CSV cell of a column of logical type `logical`, as an engine's driver would return it."""
    if text == "":
        return None
    if logical in ("integer", "bigint"):
        return int(text)
    if logical == "double":
        return float(text)
    if logical == "decimal":
        return Decimal(text)
    if logical == "timestamp":
        return parse_timestamp(text)
    if logical == "date":
        return dt.date.fromisoformat(text)
    if logical == "boolean":
        if text.lower() not in ("true", "false"):
            raise ValueError(f"not a boolean: {text!r}")
        return text.lower() == "true"
    return text


def sort_key(row: tuple) -> tuple:
    return tuple((0, "", 0) if v is None else (1, type(v).__name__, v if isinstance(v, (int, float)) else repr(v)) for v in row)


@dataclass
class Rows:
    columns: list[str]
    rows: list[tuple]

    def counter(self) -> Counter:
        return Counter(self.rows)

    def show(self, other: "Rows | None" = None, indent: str = "      ") -> str:
        """The rows sorted, one a line; with `other`, rows not in it (as a multiset) marked `>`."""
        missing = Counter(self.rows) - (other.counter() if other else Counter())
        lines = [indent + "  " + " | ".join(self.columns)]
        for r in sorted(self.rows, key=sort_key):
            mark = " "
            if other is not None and missing[r] > 0:
                missing[r] -= 1
                mark = ">"
            lines.append(indent + mark + " " + " | ".join("NULL" if v is None else repr(v) if isinstance(v, str) else str(v) for v in r))
        if not self.rows:
            lines.append(indent + "  (no rows)")
        return "\n".join(lines)


def compare(got: Rows, want: Rows) -> str | None:
    """Why `got` differs from `want` (names, or rows as a multiset), or None when equal."""
    if got.columns != want.columns:
        return f"columns differ: {got.columns} vs {want.columns}"
    if got.counter() != want.counter():
        only_got = sum((got.counter() - want.counter()).values())
        only_want = sum((want.counter() - got.counter()).values())
        return f"{only_got} rows only here, {only_want} only there ({len(got.rows)} vs {len(want.rows)} rows)"
    return None


# ---------------------------------------------------------------------------------------------
# Cases


def parse_relation(text: str) -> tuple[str, str]:
    m = re.fullmatch(r"\s*(source|ref)\s*\((.*)\)\s*", text)
    if not m:
        raise ValueError(f"not a ref() or source() call: {text!r}")
    args = [a.strip().strip("'\"") for a in m.group(2).split(",")]
    if m.group(1) == "source":
        return args[0], args[1]
    return MOCK_SCHEMA, args[-1]


@dataclass
class Table:
    schema: str
    name: str
    columns: dict[str, str]  # name -> logical type
    csv: Path | None = None

    @property
    def fq(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class Case:
    name: str
    dir: Path
    description: str
    proves: str
    spec: list[dict]
    tables: dict[str, Table]  # fq -> table, sources and targets, in creation order
    types: dict[str, dict[str, str]]  # engine -> {schema.table.column: physical type}
    dialects: dict[str, list[str]]  # model -> engines it runs on
    branches: list[str]
    expect_fail: list[dict]
    expected: dict[tuple[str, str], Path] = field(default_factory=dict)

    def runs(self, model: str, engine: str) -> bool:
        return engine in self.dialects[model]

    def source(self, model: dict) -> Table:
        s, t = parse_relation(model["from"])
        return self.tables[f"{s}.{t}"]

    def target(self, model: dict) -> Table:
        return self.tables[f"{MOCK_SCHEMA}.{model['name']}"]

    def schemas(self) -> list[str]:
        return sorted({t.schema for t in self.tables.values()} | {MOCK_SCHEMA})

    def physical(self, engine: str, table: Table, column: str) -> str:
        return self.types.get(engine, {}).get(f"{table.fq}.{column}") or TYPES[engine][table.columns[column]]

    def logical_of(self, model: dict, column: str) -> str | None:
        """The logical type of an output column: from the model's input, else its target."""
        for t in (self.source(model), self.target(model)):
            for c, ty in t.columns.items():
                if c == column:
                    return ty
            for c, ty in t.columns.items():
                if c.lower() == column.lower():
                    return ty
        return None

    def expected_rows(self, model: dict, branch: str) -> Rows | None:
        path = self.expected.get((model["name"], branch))
        if path is None:
            return None
        header, rows = read_csv(path)
        return Rows(header, [tuple(normalize(parse_logical(v, self.logical_of(model, c))) for c, v in zip(header, r)) for r in rows])


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as f:
        data = [r for r in csv.reader(f) if r]
    if not data:
        raise SystemExit(f"{path}: no header")
    header, rows = data[0], data[1:]
    for i, r in enumerate(rows, 2):
        if len(r) != len(header):
            raise SystemExit(f"{path}:{i}: {len(r)} cells, the header has {len(header)}")
    return header, rows


def load_case(d: Path) -> Case:
    raw = yaml.safe_load((d / "case.yml").read_text())
    unknown = set(raw) - {"description", "proves", "spec", "tables", "types", "dialects", "branches", "expect_fail"}
    if unknown:
        raise SystemExit(f"{d}/case.yml: unknown keys {sorted(unknown)}")
    tables: dict[str, Table] = {}
    for fq, cols in raw["tables"].items():
        schema, name = fq.split(".")
        for c, ty in cols.items():
            if ty not in TYPES["duckdb"]:
                raise SystemExit(f"{d}/case.yml: {fq}.{c}: unknown logical type {ty!r} (one of {', '.join(TYPES['duckdb'])})")
        tables[fq] = Table(schema, name, dict(cols))
    for f in sorted(d.glob("*.csv")):
        fq = f.name[: -len(".csv")]
        if fq in tables:
            tables[fq].csv = f
        elif fq.startswith(MOCK_SCHEMA + ".") and fq.count(".") == 1:
            tables[fq] = Table(MOCK_SCHEMA, fq.split(".")[1], {}, f)  # a target: types below
        else:
            raise SystemExit(f"{f}: table {fq} is not declared under tables:")
    # dialects: a list for every model, or {model: [engines]} (models not named: all engines).
    dialects = raw.get("dialects") or list(ENGINES)
    names = [m["name"] for m in raw["spec"]]
    per_model = {n: list(dialects.get(n, ENGINES)) for n in names} if isinstance(dialects, dict) else {n: list(dialects) for n in names}
    if isinstance(dialects, dict) and set(dialects) - set(names):
        raise SystemExit(f"{d}/case.yml: dialects names models not in the spec: {sorted(set(dialects) - set(names))}")
    for n, engines in per_model.items():
        if set(engines) - set(ENGINES):
            raise SystemExit(f"{d}/case.yml: dialects of {n}: unknown engines {sorted(set(engines) - set(ENGINES))}")
    case = Case(
        name=d.name, dir=d, description=raw["description"], proves=raw["proves"], spec=raw["spec"], tables=tables,
        types=raw.get("types") or {}, dialects=per_model,
        branches=raw.get("branches") or list(BRANCHES), expect_fail=raw.get("expect_fail") or [],
    )
    for m in case.spec:
        src = case.source(m)  # KeyError: undeclared input
        fq = f"{MOCK_SCHEMA}.{m['name']}"
        t = tables.get(fq)
        if t is None:  # no target file: an empty target with the model's output columns
            cols = m.get("columns") or list(src.columns)
            t = tables[fq] = Table(MOCK_SCHEMA, m["name"], {c: src.columns[c] for c in cols})
        elif not t.columns:
            header, _ = read_csv(t.csv)
            for c in header:
                ty = case.logical_of(m, c) if c in src.columns or c.lower() in {x.lower() for x in src.columns} else None
                if ty is None:
                    raise SystemExit(f"{t.csv}: column {c} is not a column of {src.fq}; declare {fq} under tables:")
                t.columns[c] = ty
    exp = d / "expected"
    for f in sorted(exp.glob("*.csv")) if exp.is_dir() else []:
        model, _, branch = f.name[: -len(".csv")].partition(".")
        if model not in names or branch not in BRANCHES:
            raise SystemExit(f"{f}: expected/<model>.<branch>.csv with a model of the spec and one of {BRANCHES}")
        case.expected[(model, branch)] = f
    for e in case.expect_fail:
        if e.get("engine") not in ENGINES or not e.get("why"):
            raise SystemExit(f"{d}/case.yml: expect_fail entries need engine (one of {ENGINES}) and why: {e}")
    return case


def load_cases(only: list[str] | None) -> list[Case]:
    dirs = sorted(p for p in CASES.iterdir() if (p / "case.yml").is_file())
    if only:
        missing = set(only) - {p.name for p in dirs}
        if missing:
            raise SystemExit(f"no such case: {', '.join(sorted(missing))}")
        dirs = [p for p in dirs if p.name in only]
    return [load_case(p) for p in dirs]


# ---------------------------------------------------------------------------------------------
# Engines: create, load, describe, query


class Engine:
    name = ""

    def start(self, workdir: Path) -> None: ...
    def close(self) -> None: ...
    def exec(self, sql: str) -> None: raise NotImplementedError
    def query(self, sql: str) -> Rows: raise NotImplementedError
    def describe(self, schema: str, table: str) -> list[tuple[str, str]]: raise NotImplementedError

    def quote(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def string(self, text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    def reset(self, schemas: list[str]) -> None:
        for s in schemas:
            self.exec(f"drop schema if exists {s} cascade")
            self.exec(f"create schema {s}")

    def create_table(self, fq: str, columns: list[tuple[str, str]]) -> None:
        self.exec(f"create table {fq} ({', '.join(f'{self.quote(c)} {ty}' for c, ty in columns)})")

    def insert(self, fq: str, columns: list[tuple[str, str]], rows: list[list[str]]) -> None:
        if not rows:
            return
        values = ",\n".join(
            "(" + ", ".join(f"cast({'null' if v == '' else self.string(v)} as {ty})" for v, (_, ty) in zip(r, columns)) + ")"
            for r in rows
        )
        self.exec(f"insert into {fq} ({', '.join(self.quote(c) for c, _ in columns)}) values\n{values}")


class DuckDB(Engine):
    name = "duckdb"

    def start(self, workdir: Path) -> None:
        import duckdb
        self.duckdb = duckdb
        self.con = None

    def reset(self, schemas: list[str]) -> None:
        # A fresh in-memory database per case.
        if self.con is not None:
            self.con.close()
        self.con = self.duckdb.connect(":memory:")
        self.con.execute("set TimeZone = 'UTC'")
        for s in schemas:
            self.exec(f"create schema {s}")

    def close(self) -> None:
        if self.con is not None:
            self.con.close()

    def exec(self, sql: str) -> None:
        self.con.execute(sql)

    def query(self, sql: str) -> Rows:
        cur = self.con.execute(sql)
        cols = [d[0] for d in cur.description]
        return Rows(cols, [tuple(normalize(v) for v in r) for r in cur.fetchall()])

    def describe(self, schema: str, table: str) -> list[tuple[str, str]]:
        return self.con.execute(
            "select column_name, data_type from information_schema.columns where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table]).fetchall()


class Postgres(Engine):
    name = "postgres"

    def start(self, workdir: Path) -> None:
        import psycopg2
        self.con = psycopg2.connect(host="127.0.0.1", port=int(os.environ.get("PGPORT", "54329")), user="postgres", dbname="postgres")
        self.con.autocommit = True
        self.exec("set time zone 'UTC'")

    def close(self) -> None:
        self.con.close()

    def exec(self, sql: str) -> None:
        with self.con.cursor() as cur:
            cur.execute(sql)

    def query(self, sql: str) -> Rows:
        with self.con.cursor() as cur:
            cur.execute(sql)
            cols = [d.name for d in cur.description]
            return Rows(cols, [tuple(normalize(v) for v in r) for r in cur.fetchall()])

    def describe(self, schema: str, table: str) -> list[tuple[str, str]]:
        # dbt-postgres's get_columns_in_relation reads information_schema.columns.data_type.
        with self.con.cursor() as cur:
            cur.execute("select column_name, data_type from information_schema.columns where table_schema = %s and table_name = %s order by ordinal_position", (schema, table))
            return cur.fetchall()


def ch_strip(t: str) -> str:
    while True:
        m = re.fullmatch(r"(?:Nullable|LowCardinality)\((.*)\)", t)
        if not m:
            return t
        t = m.group(1)


def ch_value(v, ch_type: str):
    """A value of ClickHouse's JSONCompact output, given its column type, as a Python value."""
    if v is None:
        return None
    t = ch_strip(ch_type)
    if t.startswith(("Int", "UInt")):
        return int(v)
    if t.startswith("Float"):
        return float(v)
    if t.startswith("Decimal"):
        return Decimal(str(v))
    if t.startswith("DateTime"):
        return parse_timestamp(v)
    if t.startswith("Date"):
        return dt.date.fromisoformat(v)
    if t == "Bool":
        return bool(v)
    return v


class ClickHouse(Engine):
    name = "clickhouse"

    def start(self, workdir: Path) -> None:
        from chdb import session
        self.session = session.Session(str(workdir / "chdb"))
        for s in ("session_timezone = 'UTC'", "output_format_json_quote_decimals = 1",
                  "output_format_json_quote_64bit_integers = 0", "output_format_json_quote_denormals = 1"):
            self.exec(f"set {s}")

    def close(self) -> None:
        self.session.close()

    def quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def string(self, text: str) -> str:
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def reset(self, schemas: list[str]) -> None:
        for s in schemas:
            self.exec(f"drop database if exists {s}")
            self.exec(f"create database {s}")

    def create_table(self, fq: str, columns: list[tuple[str, str]]) -> None:
        self.exec(f"create table {fq} ({', '.join(f'{self.quote(c)} {ty}' for c, ty in columns)}) engine = MergeTree order by tuple()")

    def exec(self, sql: str) -> None:
        self.session.query(sql)

    def query(self, sql: str) -> Rows:
        res = json.loads(self.session.query(sql, "JSONCompact").bytes() or b"{}")
        meta = res.get("meta", [])
        return Rows([m["name"] for m in meta],
                    [tuple(normalize(ch_value(v, m["type"])) for v, m in zip(r, meta)) for r in res.get("data", [])])

    def describe(self, schema: str, table: str) -> list[tuple[str, str]]:
        res = json.loads(self.session.query(
            f"select name, type from system.columns where database = {self.string(schema)} and table = {self.string(table)} order by position",
            "JSONCompact").bytes())
        return [tuple(r) for r in res["data"]]


class Spark(Engine):
    name = "spark"

    def __init__(self):
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.spark = None
        self.startup = 0.0

    def start_async(self, workdir: Path) -> None:
        """Starts the JVM in the background while the other engines run."""
        def go():
            t0 = time.monotonic()
            try:
                self._start(workdir)
            except BaseException as e:  # reported when Spark is first used
                self.error = e
            self.startup = time.monotonic() - t0
        self.thread = threading.Thread(target=go, daemon=True)
        self.thread.start()

    def _start(self, workdir: Path) -> None:
        from pyspark.sql import SparkSession
        log4j = workdir / "log4j2.properties"
        log4j.write_text("rootLogger.level = error\nrootLogger.appenderRef.stderr.ref = console\n"
                         "appender.console.type = Console\nappender.console.name = console\nappender.console.target = SYSTEM_ERR\n"
                         "appender.console.layout.type = PatternLayout\nappender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n\n"
                         # the shell logger at the root's level: no "Setting default log level" banner
                         "logger.repl.name = org.apache.spark.api.python.PythonGatewayServer\nlogger.repl.level = error\n")
        java_opts = f"-Duser.timezone=UTC -Dlog4j2.configurationFile=file:{log4j}"
        self.spark = (
            SparkSession.builder.master("local[2]").appName("dbt-incr-differential")
            .config("spark.sql.catalogImplementation", "in-memory")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.default.parallelism", "2")
            .config("spark.sql.warehouse.dir", str(workdir / "spark-warehouse"))
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.driver.extraJavaOptions", java_opts)
            .getOrCreate()
        )
        self.spark.sparkContext.setLogLevel("ERROR")

    def start(self, workdir: Path) -> None:
        if self.thread is None:
            self.start_async(workdir)
        self.thread.join()
        if self.error is not None:
            raise RuntimeError(f"SparkSession did not start: {self.error}") from self.error

    def close(self) -> None:
        if self.spark is not None:
            self.spark.stop()

    def quote(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def string(self, text: str) -> str:
        # Spark reads '' as two adjacent literals (concatenated), not as a quote: escape with \.
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def reset(self, schemas: list[str]) -> None:
        for s in schemas:
            self.exec(f"drop database if exists {s} cascade")
            self.exec(f"create database {s}")

    def create_table(self, fq: str, columns: list[tuple[str, str]]) -> None:
        self.exec(f"create table {fq} ({', '.join(f'{self.quote(c)} {ty}' for c, ty in columns)}) using parquet")

    def exec(self, sql: str) -> None:
        self.spark.sql(sql)

    def query(self, sql: str) -> Rows:
        df = self.spark.sql(sql)
        return Rows(list(df.columns), [tuple(normalize(v) for v in r) for r in df.collect()])

    def describe(self, schema: str, table: str) -> list[tuple[str, str]]:
        out = []
        for r in self.spark.sql(f"describe table {schema}.{table}").collect():
            if not r.col_name or r.col_name.startswith("#"):
                break  # partition information follows
            out.append((r.col_name, r.data_type))
        return out


def make_engine(name: str) -> Engine:
    return {"duckdb": DuckDB, "postgres": Postgres, "clickhouse": ClickHouse, "spark": Spark}[name]()


# ---------------------------------------------------------------------------------------------
# Compile


@dataclass
class Compiled:
    sql: str | None = None
    refused: str | None = None  # the dbt_incr: message
    error: str | None = None    # any other compile failure


NOTES: list[str] = []


def write_project(case: Case, model: dict, workdir: Path) -> Path:
    """A dbt project whose spec holds this one model (so another model's refusal on a dialect
    cannot fail its compile)."""
    project = workdir / "projects" / case.name / model["name"]
    (project / "models").mkdir(parents=True, exist_ok=True)
    (project / "macros").mkdir(exist_ok=True)
    (project / "dbt_project.yml").write_text(yaml.safe_dump({
        "name": "dbt_incr_differential", "version": "1.0.0", "profile": "dbt_incr_differential",
        "model-paths": ["models"], "macro-paths": ["macros"]}, sort_keys=False))
    (project / "incremental.yml").write_text(yaml.safe_dump({"version": 1, "models": [model]}, sort_keys=False))
    return project


def run_compile(project: Path, model: str, dialect: str, branch: str, columns: list[tuple[str, str]]) -> tuple[int, str, str]:
    arg = ",".join(f"{n}:{t}" for n, t in columns)
    p = subprocess.run([str(BIN), "compile", model, "--project", str(project), "--dialect", dialect, "--branch", branch, "--columns", arg],
                       capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def compile_branch(project: Path, model: str, dialect: str, branch: str, columns: list[tuple[str, str]]) -> Compiled:
    code, out, err = run_compile(project, model, dialect, branch, columns)
    if code == 0:
        return Compiled(sql=out)
    message = (err or out).strip()
    if code == 2 and "dbt_incr:" in message:
        return Compiled(refused=message)
    return Compiled(error=f"dbt-incr compile exited {code}: {message}")


# ---------------------------------------------------------------------------------------------
# Running a case on an engine


@dataclass
class Outcome:
    """What one engine did for one case x model x branch."""

    rows: Rows | None = None
    refused: str | None = None
    error: str | None = None
    sql: str | None = None
    sql_path: Path | None = None


OUTCOMES: dict[tuple[str, str, str, str], Outcome] = {}  # (case, model, branch, engine)
TIMES: Counter = Counter()


def run_case(engine: Engine, case: Case, projects: dict[str, Path], workdir: Path) -> None:
    e = engine.name
    setup_error = None
    try:
        engine.reset(case.schemas())
        for t in case.tables.values():
            cols = [(c, case.physical(e, t, c)) for c in t.columns]
            engine.create_table(t.fq, cols)
            if t.csv is not None:
                header, rows = read_csv(t.csv)
                if header != list(t.columns):
                    by_name = dict(cols)
                    missing = [h for h in header if h not in by_name]
                    if missing:
                        raise RuntimeError(f"{t.csv.name}: columns {missing} are not declared")
                    cols = [(h, by_name[h]) for h in header]
                engine.insert(t.fq, cols, rows)
    except Exception as ex:  # noqa: BLE001 - any engine error is a result
        setup_error = f"setup failed: {first_lines(str(ex))}"
    for m in case.spec:
        if not case.runs(m["name"], e):
            continue
        src = case.source(m)
        columns = None
        if setup_error is None:
            try:
                columns = engine.describe(src.schema, src.name)
            except Exception as ex:  # noqa: BLE001
                setup_error = f"describe {src.fq} failed: {first_lines(str(ex))}"
        for branch in case.branches:
            key = (case.name, m["name"], branch, e)
            if setup_error is not None:
                OUTCOMES[key] = Outcome(error=setup_error)
                continue
            c = compile_branch(projects[m["name"]], m["name"], e, branch, columns)
            if c.refused is not None or c.error is not None:
                OUTCOMES[key] = Outcome(refused=c.refused, error=c.error)
                continue
            path = workdir / "sql" / case.name / f"{m['name']}.{branch}.{e}.sql"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(c.sql)
            try:
                OUTCOMES[key] = Outcome(rows=engine.query(c.sql), sql=c.sql, sql_path=path)
            except Exception as ex:  # noqa: BLE001
                OUTCOMES[key] = Outcome(error=f"query failed: {first_lines(str(ex))}", sql=c.sql, sql_path=path)


def first_lines(text: str, n: int = 4) -> str:
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return "\n".join(lines[:n]) + (" ..." if len(lines) > n else "")


# ---------------------------------------------------------------------------------------------
# Judging


@dataclass
class Cell:
    status: str  # pass, FAIL, refused, xfail, -
    detail: str = ""


def expect_fail_entry(case: Case, model: str, branch: str, engine: str) -> dict | None:
    for e in case.expect_fail:
        if e["engine"] == engine and e.get("model", model) == model and e.get("branch", branch) == branch:
            return e
    return None


def judge(case: Case, model: dict, branch: str, engine: str) -> Cell:
    o = OUTCOMES.get((case.name, model["name"], branch, engine))
    if o is None:
        return Cell("-")
    ref = OUTCOMES.get((case.name, model["name"], branch, REFERENCE)) if engine != REFERENCE else None
    expected = case.expected_rows(model, branch)
    problems: list[str] = []
    refused = False
    if o.refused is not None:
        refused = True
        if ref is not None and ref.refused is None:
            problems.append(f"refused here but not on {REFERENCE}: {o.refused}")
    elif o.error is not None:
        problems.append(o.error)
    else:
        if ref is not None and ref.refused is not None:
            problems.append(f"compiled and ran here but refused on {REFERENCE}: {ref.refused}")
        if expected is not None:
            why = compare(o.rows, expected)
            if why:
                problems.append(f"differs from expected/{model['name']}.{branch}.csv: {why}\n"
                                f"    {engine}:\n{o.rows.show(expected)}\n    expected:\n{expected.show(o.rows)}")
        if ref is not None and ref.rows is not None:
            why = compare(o.rows, ref.rows)
            if why:
                problems.append(f"differs from {REFERENCE}: {why}\n    {engine}:\n{o.rows.show(ref.rows)}\n"
                                f"    {REFERENCE}:\n{ref.rows.show(o.rows)}")
        elif ref is None and engine != REFERENCE and expected is None:
            problems.append(f"nothing to compare with: {REFERENCE} did not run this case and it gives no expected rows")
        elif ref is not None and expected is None and not problems:
            problems.append(f"no reference: {REFERENCE} has no rows ({ref.error or ref.refused}) and the case gives no expected rows")
    xf = expect_fail_entry(case, model["name"], branch, engine)
    if xf is not None:
        if problems:
            return Cell("xfail", f"expected failure ({xf['why']}):\n" + "\n".join(problems))
        return Cell("FAIL", f"EXPECTED FAILURE did not happen ({xf['why']}): {'refused' if refused else 'rows equal'}")
    if problems:
        return Cell("FAIL", "\n".join(problems))
    return Cell("refused" if refused else "pass")


# ---------------------------------------------------------------------------------------------
# Main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engine", action="append", choices=ENGINES, help="engines to run (repeatable; duckdb, the reference, always runs)")
    ap.add_argument("--case", action="append", help="cases to run (repeatable; default all)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (projects, compiled SQL, chdb data)")
    ap.add_argument("--show-sql", action="store_true", help="print the compiled SQL of each failing cell")
    args = ap.parse_args()

    if not BIN.is_file():
        print(f"no {BIN}; build it with cargo build --release", file=sys.stderr)
        return 2
    cases = load_cases(args.case)
    selected = args.engine or list(ENGINES)
    engines = [e for e in ENGINES if e == REFERENCE or e in selected]
    workdir = Path(tempfile.mkdtemp(prefix="dbt-incr-differential-"))
    t_all = time.monotonic()
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    log(f"differential: {len(cases)} cases on {', '.join(engines)} (work dir {workdir})")

    spark = None
    if "spark" in engines:
        spark = Spark()
        spark.start_async(workdir)  # the JVM starts while the other engines run

    projects = {c.name: {m["name"]: write_project(c, m, workdir) for m in c.spec} for c in cases}
    try:
        for name in engines:
            engine = spark if name == "spark" else make_engine(name)
            t0 = time.monotonic()
            try:
                engine.start(workdir)
            except Exception as ex:  # noqa: BLE001 - every cell of the engine fails with this
                for c in cases:
                    for m in c.spec:
                        if c.runs(m["name"], name):
                            for b in c.branches:
                                OUTCOMES[(c.name, m["name"], b, name)] = Outcome(error=f"{name} did not start: {first_lines(str(ex))}")
                log(f"  {name}: did not start: {first_lines(str(ex))}")
                continue
            started = time.monotonic() - t0
            t1 = time.monotonic()
            for c in cases:
                if any(c.runs(m["name"], name) for m in c.spec):
                    run_case(engine, c, projects[c.name], workdir)
            TIMES[name] = time.monotonic() - t1
            extra = f" (+{spark.startup:.1f}s JVM start in the background, {started:.1f}s waited for it)" if name == "spark" else ""
            log(f"  {name}: {TIMES[name]:.1f}s{extra}")
            if name != "spark":
                engine.close()
    finally:
        if spark is not None and spark.spark is not None:
            spark.close()

    # The table
    rows = []
    failures = []
    passed = failed = 0
    for c in cases:
        for m in c.spec:
            for b in c.branches:
                cells = []
                for e in engines:
                    cell = judge(c, m, b, e) if c.runs(m["name"], e) else Cell("-")
                    cells.append(cell.status)
                    if cell.status in ("pass", "refused", "xfail"):
                        passed += 1
                    elif cell.status == "FAIL":
                        failed += 1
                    if cell.status in ("FAIL", "xfail"):
                        o = OUTCOMES.get((c.name, m["name"], b, e))
                        failures.append((f"{c.name} / {m['name']} / {b} / {e}", cell, o))
                rows.append((f"{c.name} / {m['name']} / {b}", cells))
    width = max([len(r[0]) for r in rows] + [20])
    cw = max(len(e) for e in engines) + 2
    print()
    print(f"{'case / model / branch':<{width}}  " + "".join(f"{e:<{cw}}" for e in engines))
    print("-" * (width + 2 + cw * len(engines)))
    for label, cells in rows:
        print(f"{label:<{width}}  " + "".join(f"{s:<{cw}}" for s in cells))

    if failures:
        print("\nDetails")
        for label, cell, o in failures:
            print(f"\n[{cell.status}] {label}")
            print("\n".join("    " + l for l in cell.detail.splitlines()))
            if o is not None and o.sql_path is not None:
                if args.show_sql:
                    print("    sql:\n" + "\n".join("      " + l for l in o.sql.splitlines()))
                elif args.keep:
                    print(f"    sql: {o.sql_path}")
    if NOTES:
        print("\nNotes")
        for n in NOTES:
            print(f"  - {n}")
    timing = ", ".join(f"{e} {TIMES[e]:.1f}s" for e in engines if e in TIMES)
    if spark is not None:
        timing += f" (spark JVM start {spark.startup:.1f}s, overlapped)"
    print(f"\ntime: {time.monotonic() - t_all:.1f}s total; {timing}")
    if args.keep:
        print(f"kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
