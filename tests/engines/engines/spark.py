"""Apache Spark 3.5.9 in this process (pyspark, local[2]) through dbt-spark's `session` method, with
Iceberg 1.10 tables (merge needs them; Delta's jar comes only from Maven) in Iceberg's
SparkSessionCatalog over a Hive metastore in embedded Derby, all inside the work directory.

The session is what dbt-spark's session method builds from the profile's server_side_parameters
(`SparkSession.builder.enableHiveSupport()`, each parameter as `.config()`, `.getOrCreate()`).
start() builds it the same way from the same parameters, so it starts (and the metastore warms)
before the first dbt invocation, and every dbt invocation after it gets this one session back.
tests/engines/spark/README.md: the Iceberg jar fix-up and where the time goes.
"""

import hashlib
import os
import subprocess
import time
from pathlib import Path

from engines.base import *  # noqa: F401,F403

DIALECT = "spark"
PROOF = "real engine (pyspark 3.5.9, Iceberg 1.10)"
VENV = ""
CI = True  # ~2 min for all scenarios on 2 cores; pyspark and Java are in scripts/test already (differential)
# dbt-spark's merge needs an Iceberg/Delta/Hudi table; delete+insert is not a dbt-spark strategy.
STRATEGIES = ["merge", "append", "insert_overwrite"]
# dbt-incr refuses microbatch on spark (dbt-spark's is an insert_overwrite that needs partition_by).
MICROBATCH_KEYED = None
# Spec keys for every model (the scenario's own keys win). merge needs a table format that can
# merge, and dbt-incr's default for it (delta) cannot be installed here. append gets Iceberg too:
# under Iceberg's SparkSessionCatalog, `drop table` of a parquet table (dbt-spark's full refresh:
# drop, then create) removes it from the metastore but leaves its files, so the next create fails
# with LOCATION_ALREADY_EXISTS (apache/iceberg#11820, #12790).
SPEC_DEFAULTS = {"file_format": "iceberg"}

ROOT = Path(__file__).resolve().parents[3]
CACHE = ROOT / "target" / "engines-cache" / "spark"
ICEBERG_JAR = "iceberg-spark-runtime-3.5_2.12-1.10.2.jar"
JACKSON = ["jackson-core-2.15.2.jar", "jackson-databind-2.15.2.jar", "jackson-annotations-2.15.2.jar",
           "jackson-datatype-jsr310-2.15.2.jar"]
ASM = "xbean-asm9-shaded-4.23.jar"

_params: dict[str, str] = {}
_session = None


def relocated_jackson() -> Path:
    """pyspark's own Jackson, moved to the package the Iceberg runtime jar expects (built once,
    cached under target/engines-cache/spark/)."""
    import pyspark
    jars = Path(pyspark.__file__).parent / "jars"
    source = Path(__file__).resolve().parents[1] / "spark" / "RelocateJackson.java"
    out = CACHE / f"iceberg-shaded-jackson-2.15.2-{hashlib.sha256(source.read_bytes()).hexdigest()[:12]}.jar"
    if not out.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(["java", "-cp", str(jars / ASM), str(source), str(out), *(str(jars / j) for j in JACKSON)],
                       check=True, stdout=subprocess.DEVNULL)
    return out


def session_parameters(workdir: Path) -> dict[str, str]:
    import snowpark_connect_deps_iceberg as iceberg
    log4j = workdir / "log4j2.properties"
    log4j.write_text(
        "rootLogger.level = error\nrootLogger.appenderRef.stderr.ref = console\n"
        "appender.console.type = Console\nappender.console.name = console\nappender.console.target = SYSTEM_ERR\n"
        "appender.console.layout.type = PatternLayout\nappender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n\n"
        "logger.repl.name = org.apache.spark.api.python.PythonGatewayServer\nlogger.repl.level = error\n")
    java = " ".join([
        "-Duser.timezone=UTC", f"-Dlog4j2.configurationFile=file:{log4j}",
        f"-Dderby.system.home={workdir}",  # derby.log
        # Hundreds of small, different queries: the JIT's second tier (C2) costs more CPU than it
        # saves here (measured: 104 s -> 45 s JVM CPU on six scenarios); C1 alone needs a larger
        # code cache than its 48 MB default, or it fills up and the JVM stops compiling. One
        # small heap: the serial collector (less CPU and memory than G1's threads).
        "-XX:TieredStopAtLevel=1", "-XX:ReservedCodeCacheSize=256m", "-XX:+UseSerialGC",
    ])
    return {
        "spark.master": "local[2]",
        "spark.app.name": "dbt-incr-engines",
        "spark.jars": f"{iceberg.get_jar_path(ICEBERG_JAR)},{relocated_jackson()}",
        "spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        # Iceberg tables next to Spark's own (parquet, views) in the one session catalog, both in
        # the Hive metastore. type=hadoop tables would not show in `show tables`: dbt would never
        # see its targets.
        "spark.sql.catalog.spark_catalog": "org.apache.iceberg.spark.SparkSessionCatalog",
        "spark.sql.catalog.spark_catalog.type": "hive",
        # Iceberg's Hive commit lock is a metastore lock an embedded metastore never grants: every
        # commit would wait 180 s and fail. One process, one writer: no lock needed.
        "spark.hadoop.iceberg.engine.hive.lock-enabled": "false",
        "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={workdir / 'metastore_db'};create=true",
        "spark.sql.warehouse.dir": str(workdir / "warehouse"),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.ansi.enabled": "false",  # what dbt-spark sets anyway
        "spark.sql.shuffle.partitions": "1",  # a few rows per table: one task per stage
        "spark.default.parallelism": "1",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.driver.extraJavaOptions": java,
    }


def start(workdir) -> None:
    global _session
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    _params.clear()
    _params.update(session_parameters(Path(workdir)))
    from pyspark.sql import SparkSession
    builder = SparkSession.builder.enableHiveSupport()  # as dbt-spark's session.Cursor.execute
    for k, v in _params.items():
        builder = builder.config(k, v)
    t0 = time.monotonic()
    _session = builder.getOrCreate()
    t1 = time.monotonic()
    _session.sql("show databases").collect()  # the metastore's first access (Derby, Hive client)
    print(f"spark: session {t1 - t0:.1f}s, first metastore access {time.monotonic() - t1:.1f}s", flush=True)


def stop() -> None:
    global _session
    if _session is not None:
        try:
            import resource
            py = resource.getrusage(resource.RUSAGE_SELF)
            print(f"spark: JVM {jvm_usage()}; Python {py.ru_utime + py.ru_stime:.0f}s CPU", flush=True)
        except Exception:  # noqa: BLE001 - a diagnostic only (the JVM may be gone)
            pass
        _session.stop()
        _session = None


def jvm_usage() -> str:
    """CPU seconds and peak memory of the JVM so far (from /proc)."""
    pid = _session.sparkContext._gateway.proc.pid  # spark-submit execs java: the same process
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    peak = next(l.split()[1] for l in Path(f"/proc/{pid}/status").read_text().splitlines() if l.startswith("VmHWM:"))
    return f"{cpu:.0f}s CPU, peak RSS {int(peak) // 1024} MB"


def output(workdir, name: str, schema: str) -> dict:
    return {"type": "spark", "method": "session", "host": "NA", "schema": schema, "threads": 1,
            "server_side_parameters": dict(_params)}


def column_type(fixture_type: str) -> str:
    t = fixture_type.lower()
    if t == "integer":
        return "int"
    if t.startswith("numeric"):
        return "decimal" + t[len("numeric"):]
    if t.startswith("varchar") or t == "text":
        return "string"  # Iceberg has no varchar
    return t


def literal(value: str, fixture_type: str) -> str:
    sql_type = column_type(fixture_type)
    if value == "":
        return f"cast(null as {sql_type})"
    # Spark reads '' as two adjacent literals, not as a quote: escape with a backslash.
    return "cast('" + value.replace("\\", "\\\\").replace("'", "\\'") + f"' as {sql_type})"


def before_full_refresh(schema: str) -> None:
    """Drops the parquet tables of the full-refresh schema, files and all, before dbt rebuilds them.

    dbt-spark's full refresh of a parquet table is `drop table`, then `create table … as`. Under
    Iceberg's SparkSessionCatalog (which merge needs) that drop leaves the table's files behind and
    the create fails with LOCATION_ALREADY_EXISTS (apache/iceberg#11820, ran). Without the table,
    dbt's full refresh is the first build it would be on a fresh schema. Iceberg tables (a
    `metadata/` folder) are left to dbt's `create or replace`."""
    import shutil
    folder = Path(_params["spark.sql.warehouse.dir"]) / f"{schema}.db"
    for table in sorted(folder.iterdir()) if folder.is_dir() else []:
        if table.is_dir() and not (table / "metadata").is_dir():
            _session.sql(f"drop table if exists {schema}.{table.name}").collect()
            shutil.rmtree(table, ignore_errors=True)


def create_table_sql(table: str, columns: dict[str, str]) -> str:
    # Iceberg: the fixtures UPDATE raw tables in place.
    return f"create table {table} ({', '.join(f'{c} {column_type(t)}' for c, t in columns.items())}) using iceberg"
