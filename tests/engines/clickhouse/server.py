"""ClickHouse's HTTP interface in front of chdb (ClickHouse in-process), for dbt-clickhouse.

Protocol plumbing only: each request's SQL reaches ClickHouse byte for byte. What it does:

- GET /ping -> "Ok.\\n";
- the query is the `query` URL parameter and/or the request body (joined by a newline, like
  ClickHouse); `param_<name>` URL parameters are passed as query parameters;
- `database` -> USE <database> before the query (as the server does per request);
- `default_format` (else TabSeparated) is the output format unless the query has a FORMAT clause;
- every other URL parameter, except the transport-only ones below, is a setting for this one
  request: SET before the query, its previous value restored after it (a `SET` statement sent
  as a query keeps its effect, as in a session);
- session_id: accepted; chdb has one session, shared by every session_id (dbt-clickhouse sends
  the same settings in all of them);
- errors: status 500, header X-ClickHouse-Exception-Code, ClickHouse's exception text as body.

    python server.py --port PORT --path DIR     (binds 127.0.0.1 only; port 0: a free one; prints
                                                "listening on 127.0.0.1:PORT" once it accepts)
"""

import argparse
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import chdb

# URL parameters of the HTTP interface that are not settings (ClickHouse's HTTPHandler reserves
# them; the HTTP-only settings are dropped as chdb has no HTTP layer to apply them to).
TRANSPORT = {
    "query", "database", "default_format", "session_id", "session_timeout", "session_check",
    "query_id", "quota_key", "compress", "decompress", "buffer_size", "wait_end_of_query",
    "client_protocol_version", "role", "user", "password", "send_progress_in_http_headers",
    "http_headers_progress_interval_ms", "enable_http_compression",
}
LOCK = threading.Lock()  # one chdb connection: one statement at a time
CONN = None
INFO = {}


def quote_name(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def quote_value(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def run(sql: str, fmt: str = "TabSeparated", params: dict | None = None) -> bytes:
    return CONN.query(sql, fmt, params=params or {}).bytes()


def execute(sql: str, database: str, fmt: str, settings: dict, params: dict) -> bytes:
    with LOCK:
        run(f"USE {quote_name(database)}")
        if not settings:
            return run(sql, fmt, params)
        names = ", ".join(quote_value(k) for k in settings)
        rows = run(f"SELECT name, value, changed FROM system.settings WHERE name IN ({names})", "JSONEachRow")
        before = {r["name"]: (r["value"], r["changed"]) for r in map(json.loads, rows.splitlines())}
        try:
            run("SET " + ", ".join(f"{quote_name(k)} = {quote_value(v)}" for k, v in settings.items()))
            return run(sql, fmt, params)
        finally:
            restore = [f"{quote_name(k)} = " + (quote_value(v) if changed else "DEFAULT") for k, (v, changed) in before.items()]
            if restore:
                run("SET " + ", ".join(restore))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clickhouse-connect's pool expects
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed ACK

    def log_message(self, *args) -> None:  # quiet
        pass

    def reply(self, status: int, body: bytes, headers: dict) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.handle_query(b"")

    def do_POST(self) -> None:
        self.handle_query(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def handle_query(self, body: bytes) -> None:
        url = urlsplit(self.path)
        if url.path.rstrip("/") == "/ping":
            return self.reply(200, b"Ok.\n", {"Content-Type": "text/plain; charset=UTF-8"})
        args = dict(parse_qsl(url.query, keep_blank_values=True))
        sql = "\n".join(p for p in (args.get("query", ""), body.decode()) if p)
        query_id = args.get("query_id") or str(uuid.uuid4())
        headers = {
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Timezone": INFO["timezone"],
            "X-ClickHouse-Server-Display-Name": "chdb",
        }
        params = {k[len("param_"):]: v for k, v in args.items() if k.startswith("param_")}
        settings = {k: v for k, v in args.items() if k not in TRANSPORT and not k.startswith("param_")}
        try:
            if not sql.strip():
                raise RuntimeError("Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR)")
            out = execute(sql, args.get("database") or "default", args.get("default_format") or "TabSeparated", settings, params)
        except RuntimeError as e:  # chdb's ChdbError: "Code: N. DB::Exception: ... (NAME)"
            text = str(e)
            code = re.search(r"Code: (\d+)", text)
            headers["X-ClickHouse-Exception-Code"] = code.group(1) if code else "1001"
            return self.reply(500, (text.rstrip("\n") + f" (version {INFO['version']})\n").encode(), {**headers, "Content-Type": "text/plain; charset=UTF-8"})
        headers["X-ClickHouse-Summary"] = json.dumps({"read_rows": "0", "read_bytes": "0", "written_rows": "0", "written_bytes": "0"})
        self.reply(200, out, {**headers, "Content-Type": "application/octet-stream"})


def main() -> None:
    global CONN
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--path", required=True, help="chdb's data directory")
    args = ap.parse_args()
    CONN = chdb.connect(args.path)
    version, tz = run("SELECT version(), timezone()").decode().rstrip("\n").split("\t")
    INFO.update(version=version, timezone=tz)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"listening on 127.0.0.1:{server.server_address[1]}", flush=True)  # read by the engine module
    server.serve_forever()


if __name__ == "__main__":
    main()
