"""Fixtures for the connector tests: real warehouses, a mini SQL source, a loopback HTTP API, file drops.

Server-backed fixtures skip when the server is absent, except under CI=true, where they fail.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from yiwang.contracts import Table, load_contract
from yiwang.settings import Settings, SourceConfig
from yiwang.warehouse import Warehouse

CI = os.environ.get("CI", "").lower() == "true"
PG = ("127.0.0.1", 5432)
MARIADB = ("127.0.0.1", 3306)


# -- servers ----------------------------------------------------------------------------------------------
def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_server(host: str, port: int, what: str) -> None:
    if _reachable(host, port):
        return
    msg = f"{what} is not reachable at {host}:{port}"
    if CI:
        pytest.fail(f"{msg} (CI=true: server-backed tests must run)")
    pytest.skip(msg)


def _test_db_name() -> str:
    return f"yiwang_test_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def duck_wh(tmp_path: Path) -> Iterator[Warehouse]:
    wh = Warehouse(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    yield wh
    wh.close()


@contextmanager
def pg_database() -> Iterator[str]:
    """A throwaway PostgreSQL database; yields its name and drops it afterwards."""
    require_server(*PG, "PostgreSQL")
    import psycopg

    admin = f"host={PG[0]} port={PG[1]} user=postgres dbname=postgres"
    name = _test_db_name()
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(f'create database "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def pg_wh() -> Iterator[Warehouse]:
    with pg_database() as name:
        wh = Warehouse(f"postgresql+psycopg://postgres@{PG[0]}:{PG[1]}/{name}")
        try:
            yield wh
        finally:
            wh.close()


@pytest.fixture
def pg_source() -> Iterator[MiniSource]:
    """The party system on PostgreSQL (its production database)."""
    with pg_database() as name:
        src = MiniSource(f"postgresql+psycopg://postgres@{PG[0]}:{PG[1]}/{name}", "party")
        try:
            yield src
        finally:
            src.dispose()


@pytest.fixture(params=["duckdb", "postgres"])
def wh(request: pytest.FixtureRequest) -> Warehouse:
    """The same test against both warehouse dialects."""
    return request.getfixturevalue("duck_wh" if request.param == "duckdb" else "pg_wh")


@pytest.fixture
def maria_url() -> Iterator[str]:
    require_server(*MARIADB, "MariaDB")
    import pymysql

    name = _test_db_name()
    con = pymysql.connect(host=MARIADB[0], port=MARIADB[1], user="root", password="")
    try:
        with con.cursor() as cur:
            cur.execute(f"create database `{name}` character set utf8mb4")
        yield f"mysql+pymysql://root@{MARIADB[0]}:{MARIADB[1]}/{name}?charset=utf8mb4"
    finally:
        with con.cursor() as cur:
            cur.execute(f"drop database if exists `{name}`")
        con.close()


# -- settings ---------------------------------------------------------------------------------------------
def make_settings(
    tmp_path: Path,
    *sources: SourceConfig,
    reference_dir: Path | None = None,
    warehouse_url: str | None = None,
) -> Settings:
    return Settings(
        home=tmp_path,
        sources_file=tmp_path / "sources.yaml",
        warehouse_url=warehouse_url or f"duckdb:///{tmp_path / 'warehouse.duckdb'}",
        reference_dir=reference_dir or tmp_path / "reference",
        sources={s.system: s for s in sources},
        freshness_hours={},
    )


# -- ledger checks ----------------------------------------------------------------------------------------
def assert_ledger_reconciles(wh: Warehouse) -> list[tuple[Any, ...]]:
    """Every batch: read = landed + quarantined; its quarantine rows and new raw rows are really there;
    a failed batch left nothing behind. Returns the ledger rows."""
    rows = wh.query(
        "select system, table_name, batch_id, rows_read, rows_landed, rows_new, rows_quarantined, status "
        "from ops.load_ledger order by started_at"
    )
    for system, table, batch, read, landed, new, quarantined, status in rows:
        where = f"{system}.{table} batch {batch}"
        assert read == landed + quarantined, f"{where}: read {read} != {landed} + {quarantined}"
        q = wh.scalar("select count(*) from ops.quarantine where batch_id = ?", [batch])
        raw_exists = wh.scalar(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [f"raw_{system}", table],
        )
        in_raw = (
            wh.scalar(f'select count(*) from "raw_{system}"."{table}" where _batch_id = ?', [batch])
            if raw_exists
            else 0
        )
        if status == "failed":
            assert (read, landed, new, quarantined, q, in_raw) == (0, 0, 0, 0, 0, 0), where
        else:
            assert status == "success", where
            assert q == quarantined, f"{where}: {q} quarantine rows, ledger says {quarantined}"
            assert in_raw == new, f"{where}: {in_raw} raw rows, ledger says {new} new"
            assert new <= landed, where
    return rows


def raw_keys(wh: Warehouse, table: Table) -> list[str]:
    """Distinct source keys present in raw (composite keys joined with |)."""
    expr = " || '|' || ".join(f"coalesce(\"{k}\", '')" for k in table.key)
    return sorted(r[0] for r in wh.query(f'select distinct {expr} from "raw_{table.system}"."{table.name}"'))


# -- mini SQL source --------------------------------------------------------------------------------------
TIME_TYPES = ("timestamp", "datetime", "date")


@dataclass
class MiniSource:
    """Contract-shaped tables in a real SQL database (SQLite file or MariaDB), a few rows each."""

    url: str
    system: str
    engine: sa.Engine = field(init=False)

    def __post_init__(self) -> None:
        self.engine = sa.create_engine(self.url)

    def table(self, name: str) -> Table:
        return load_contract().table(self.system, name)

    def create(self, name: str, *, drop: tuple[str, ...] = (), extra: tuple[str, ...] = ()) -> None:
        t = self.table(name)
        cols = []
        for f in t.fields:
            if f.name in drop:
                continue
            if f.type in TIME_TYPES:
                typ: Any = sa.DateTime() if f.type != "date" else sa.Date()
            elif f.name in t.key:
                typ = sa.String(40)
            else:
                typ = sa.Text() if f.type == "text" else sa.String(255)
            cols.append(sa.Column(f.name, typ, primary_key=f.name in t.key))
        cols += [sa.Column(x, sa.String(255)) for x in extra]
        md = sa.MetaData()
        sa.Table(name, md, *cols)
        if self.engine.dialect.name == "sqlite":
            # SQLite: values are stored as the text inserted (as the real embedded source does)
            with self.engine.begin() as con:
                con.execute(
                    sa.text(
                        f'create table "{name}" ('
                        + ", ".join(
                            f'"{c.name}" {"TIMESTAMP" if isinstance(c.type, sa.DateTime | sa.Date) else "TEXT"}'
                            for c in cols
                        )
                        + ")"
                    )
                )
        else:
            md.create_all(self.engine)

    def insert(self, name: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        have = {c["name"] for c in sa.inspect(self.engine).get_columns(name)}
        rows = [{k: v for k, v in r.items() if k in have} for r in rows]
        cols = list(rows[0])
        stmt = sa.text(f"insert into {name} ({', '.join(cols)}) values ({', '.join(':' + c for c in cols)})")
        with self.engine.begin() as con:
            con.execute(stmt, rows)

    def execute(self, sql: str, **params: Any) -> None:
        with self.engine.begin() as con:
            con.execute(sa.text(sql), params)

    def make_rows(self, name: str, ids: range, ts: str, **overrides: Any) -> list[dict[str, Any]]:
        t = self.table(name)
        out = []
        for i in ids:
            row: dict[str, Any] = {}
            for f in t.fields:
                if f.name in t.key:
                    row[f.name] = f"{name.upper()}{i:06d}"
                elif f.name == t.cursor:
                    row[f.name] = ts
                elif f.type in TIME_TYPES:
                    row[f.name] = "2023-05-04 08:00:00" if f.type != "date" else "2023-05-04"
                elif f.type in ("int", "tinyint") or f.type.startswith("decimal"):
                    row[f.name] = str(i % 7)
                elif f.type == "boolean":
                    row[f.name] = str(i % 2)
                elif f.values:
                    row[f.name] = str(f.values[i % len(f.values)])
                elif f.name == "xm":
                    row[f.name] = f"张三{i}"
                elif f.name == "sfzh":
                    row[f.name] = "42010319900101123X" if i % 3 else "4.20103E+17"
                else:
                    row[f.name] = f"{f.name}-{i}"
            row.update(overrides)
            out.append(row)
        return out

    def dispose(self) -> None:
        self.engine.dispose()


@pytest.fixture
def sqlite_source(tmp_path: Path) -> Iterator[MiniSource]:
    src = MiniSource(f"sqlite:///{tmp_path / 'grid.sqlite'}", "grid")
    yield src
    src.dispose()


@pytest.fixture
def mariadb_source(maria_url: str) -> Iterator[MiniSource]:
    src = MiniSource(maria_url, "grid")
    yield src
    src.dispose()


# -- loopback HTTP API ------------------------------------------------------------------------------------
SHANGHAI = ZoneInfo("Asia/Shanghai")
TOKENS = {"approval": ("Authorization", "Bearer tok-approval"), "services": ("X-API-Key", "key-services")}


def _instant(text: str) -> dt.datetime:
    d = dt.datetime.fromisoformat(text)
    return d.replace(tzinfo=SHANGHAI) if d.tzinfo is None else d


@dataclass
class ApiState:
    data: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    faults: list[tuple[Any, ...]] = field(default_factory=list)  # consumed one per request
    down: bool = False
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    last_body: dict[tuple[str, str], bytes] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class ApiServer:
    """Implements the contract's paging for approval and services; faults injected via ``state``."""

    def __init__(self) -> None:
        self.state = ApiState()
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                u = urlparse(self.path)
                params = {k: v[0] for k, v in parse_qs(u.query).items()}
                parts = u.path.strip("/").split("/")
                with state.lock:
                    state.requests.append((u.path, params))
                    fault = state.faults.pop(0) if state.faults else None
                    down = state.down
                if down:
                    return self._send(503, b'{"error":"down"}')
                if fault and fault[0] == "status":
                    return self._send(fault[1], b'{"error":"injected"}', fault[2] if len(fault) > 2 else None)
                if len(parts) != 4 or parts[1:3] != ["api", "v1"] or parts[0] not in TOKENS:
                    return self._send(404, b'{"error":"no such resource"}')
                system, resource = parts[0], parts[3]
                header, expected = TOKENS[system]
                if self.headers.get(header) != expected:
                    return self._send(401, b'{"error":"unauthorised"}')
                if (system, resource) not in state.data:
                    return self._send(404, b'{"error":"no such resource"}')
                if fault and fault[0] == "repeat" and "page_token" in params:
                    return self._send(200, state.last_body[(system, resource)])
                size = int(params.get("page_size", 100))
                if not 1 <= size <= 500:
                    return self._send(400, b'{"error":"page_size out of range"}')
                cursor = "pjsj" if resource == "evaluations" else "updatedAt"
                key = {
                    "items": "sxbm",
                    "cases": "bjbh",
                    "evaluations": "pjid",
                    "life_items": "fwbm",
                    "sites": "zdid",
                    "orders": "ddbh",
                }[resource]
                items = sorted(state.data[(system, resource)], key=lambda r: (_instant(r[cursor]), r[key]))
                if "updated_since" in params:
                    since = _instant(params["updated_since"])
                    items = [r for r in items if _instant(r[cursor]) >= since]
                start = int(params.get("page_token", 0))
                page = items[start : start + size]
                nxt = str(start + size) if start + size < len(items) else None
                body = json.dumps({"items": page, "next_page_token": nxt}, ensure_ascii=False).encode()
                with state.lock:
                    state.last_body[(system, resource)] = body
                return self._send(200, body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def base_url(self, system: str) -> str:
        return f"http://127.0.0.1:{self.port}/{system}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def api_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[ApiServer]:
    monkeypatch.setenv("YIWANG_TEST_APPROVAL_TOKEN", "tok-approval")
    monkeypatch.setenv("YIWANG_TEST_SERVICES_KEY", "key-services")
    server = ApiServer()
    server.thread.start()
    yield server
    server.close()


def http_source(server: ApiServer, system: str, **options: Any) -> SourceConfig:
    opts = {"page_size": 3, "retries": 3, "backoff": 0.01, "backoff_max": 0.05, "timeout": 5, **options}
    if system == "approval":
        return SourceConfig(
            "approval",
            "http",
            base_url=server.base_url("approval"),
            auth="bearer",
            credential_env="YIWANG_TEST_APPROVAL_TOKEN",
            options=opts,
        )
    return SourceConfig(
        "services",
        "http",
        base_url=server.base_url("services"),
        auth="api_key",
        credential_env="YIWANG_TEST_SERVICES_KEY",
        options=opts,
    )
