"""PostgreSQL 15 through dbt-postgres, on a throwaway cluster scripts/postgres starts on a free
loopback port (Debian packages, installed on first use)."""

import os
import socket
import subprocess
from pathlib import Path

from engines.base import *  # noqa: F401,F403

DIALECT = "postgres"
PROOF = "real engine"
VENV = ""
CI = True
STRATEGIES = ["delete+insert", "merge", "append", "microbatch"]
# dbt-postgres merges each batch on the unique key, which it requires.
MICROBATCH_KEYED = True

ROOT = Path(__file__).resolve().parents[3]
_started = False


def start(workdir) -> None:
    global _started
    if "PGPORT" not in os.environ:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        os.environ["PGPORT"] = str(s.getsockname()[1])
        s.close()
    subprocess.run([str(ROOT / "scripts" / "postgres"), "start"], check=True)
    _started = True


def stop() -> None:
    if _started:
        subprocess.run([str(ROOT / "scripts" / "postgres"), "stop"], check=False)


def output(workdir, name: str, schema: str) -> dict:
    return {
        "type": "postgres", "host": "127.0.0.1", "port": int(os.environ["PGPORT"]),
        "user": "postgres", "password": "", "dbname": "postgres", "schema": schema, "threads": 1,
    }
