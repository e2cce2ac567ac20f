"""The dbt context sqlfluff's dbt-free jinja templater renders generated models with (tests/style).

sqlfluff loads this folder as `library_path`; what this module defines is available at the root
of the Jinja context. It stands in for dbt the way dbt-incr's offline compile does: the branch
comes from DBT_INCR_BRANCH (full-refresh, incremental or backfill), the input has the columns of
DBT_INCR_COLUMNS, and `adapter.dispatch` finds the dbt_incr macro for DBT_INCR_DIALECT.
"""

import os

import jinja2

BRANCH = os.environ.get("DBT_INCR_BRANCH", "full-refresh")
DIALECT = os.environ.get("DBT_INCR_DIALECT", "postgres")
COLUMNS = [c for c in os.environ.get("DBT_INCR_COLUMNS", "").split(",") if c]
PARENTS = {"redshift": "postgres", "databricks": "spark"}

execute = True


class _Relation:
    def __init__(self, schema, identifier):
        self.database, self.schema, self.identifier = "db", schema, identifier

    def render(self):
        return f"{self.schema}.{self.identifier}"

    def __str__(self):
        return self.render()


class _CatalogColumn:
    def __init__(self, name):
        self.name, self.dtype, self.data_type = name, "", ""


class _Api:
    class Relation:
        @staticmethod
        def create(database=None, schema=None, identifier=None, **_):
            return _Relation(schema, identifier)


class _Adapter:
    @jinja2.pass_context
    def dispatch(self, ctx, name, macro_namespace=None):
        for prefix in (DIALECT, PARENTS.get(DIALECT), "default"):
            if prefix and ctx.get(f"{prefix}__{name}") is not None:
                return ctx.get(f"{prefix}__{name}")
        raise KeyError(name)

    def get_columns_in_relation(self, relation):
        return [_CatalogColumn(c) for c in COLUMNS]

    def quote(self, name):
        return f'"{name}"'

    def has_dbr_capability(self, name):
        return True


class _Exceptions:
    def raise_compiler_error(self, message):
        raise RuntimeError(message)


adapter = _Adapter()
api = _Api()
exceptions = _Exceptions()
model = {"resource_type": "model"}
this = _Relation("analytics", "this_model")


class _Config:
    """`config(...)` renders nothing; `config.get(key, default)` gives the default (the style
    check lints what a project without extra folder configs compiles)."""

    def __call__(self, *_, **__):
        return ""

    def get(self, name, default=None):
        return default


config = _Config()


def is_incremental():
    return BRANCH != "full-refresh"


def var(name, default=None):
    if BRANCH == "backfill" and name == "backfill_start":
        return "2024-01-01"
    if BRANCH == "backfill" and name == "backfill_end":
        return "2024-02-01"
    return default


def source(source_name, table):
    return _Relation(source_name, table)


def ref(*names):
    return _Relation("analytics", names[-1])


class _Column:
    def values(self):
        return ["2024-03-01 00:00:00.000000"]


class _Table:
    columns = [_Column()]


def run_query(sql):
    # BigQuery's watermark query, read before the model runs: a fixed watermark, as in compile.
    return _Table()
