"""Standard-SQL helpers every engine module starts from (import * and override)."""

# Scenarios this engine cannot run at all, with the reason (an emulator's missing statement).
SKIP: dict[str, str] = {}

# True where the adapter appends by column position: dbt-incr requires `columns` for append
# models there, and the suite gives them the first table's columns (as it does for microbatch).
APPEND_BY_POSITION = False

# Spec keys merged into every generated model's spec entry (the scenario's own keys win): settings
# the engine needs, e.g. a table format that can merge.
SPEC_DEFAULTS: dict = {}


def column_type(fixture_type: str) -> str:
    """The engine's type for a fixture column type (integer, numeric(10,2), varchar(n), timestamp)."""
    return fixture_type


def literal(value: str, fixture_type: str) -> str:
    """A fixture value (CSV text; empty is NULL) as a typed SQL constant."""
    sql_type = column_type(fixture_type)
    if value == "":
        return f"cast(null as {sql_type})"
    return "cast('" + value.replace("'", "''") + f"' as {sql_type})"


def reset_sql(schemas: list[str]) -> list[str]:
    """Statements that leave each schema existing and empty (the first one is the raw data's)."""
    return [f"drop schema if exists {s} cascade" for s in schemas] + [f"create schema {s}" for s in schemas]


def create_table_sql(table: str, columns: dict[str, str]) -> str:
    return f"create table {table} ({', '.join(f'{c} {column_type(t)}' for c, t in columns.items())})"


def delete_all_sql(table: str) -> str:
    return f"delete from {table}"


def fixture_sql(sql: str) -> str:
    """A fixture's SQL file (standard SQL: e.g. an UPDATE of a raw table) as the engine runs it."""
    return sql


def before_full_refresh(schema: str) -> None:
    """Called before each phase's `--full-refresh` into `schema` (a workaround hook: see spark)."""
