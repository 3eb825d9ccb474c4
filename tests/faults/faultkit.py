"""The fault suite's world: one simulated tiny city per session, copied per test, served on loopback, landed
through the real connectors into DuckDB or PostgreSQL, built with the real dbt project, gated and published.

Everything runs under a throwaway YIWANG_HOME (sources.yaml, warehouse, GX, site) and private dbt target/log
paths, so tests never touch var/ or dbt_project/target.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from expectations.ledger import assert_ledger_reconciles
from yiwang.contracts import Table, load_contract
from yiwang.settings import SYSTEMS, Settings, get_settings
from yiwang.warehouse import Warehouse, qname

YIWANG = str(Path(sys.executable).parent / "yiwang")
TOKEN, API_KEY = "fault-approval-token", "fault-services-key"
# dbt: the catalog mart and everything upstream of it (the whole project is larger than this suite's budget)
DBT_BUILD = ["build", "--select", "+service_catalog", "--exclude-resource-type", "unit_test"]

SOURCES_YAML = """\
reference_dir: ${YIWANG_HOME}/sources/reference
systems:
  party: {kind: sql, url: "${YIWANG_PARTY_URL:-sqlite:///${YIWANG_HOME}/sources/party.sqlite}", freshness_hours: 48}
  grid: {kind: sql, url: "${YIWANG_GRID_URL:-sqlite:///${YIWANG_HOME}/sources/grid.sqlite}", freshness_hours: 24}
  approval: {kind: http, base_url: "${YIWANG_APPROVAL_URL}", auth: bearer, credential_env: YIWANG_APPROVAL_TOKEN,
             page_size: 25, retries: 8, backoff: 0.01, backoff_max: 0.05, timeout: 10, freshness_hours: 24}
  services: {kind: http, base_url: "${YIWANG_SERVICES_URL}", auth: api_key, credential_env: YIWANG_SERVICES_API_KEY,
             page_size: 50, retries: 8, backoff: 0.01, backoff_max: 0.05, timeout: 10, freshness_hours: 48}
  property: {kind: files, path: "${YIWANG_HOME}/sources/landing/property", freshness_hours: 744}
  hotline: {kind: files, path: "${YIWANG_HOME}/sources/landing/hotline", freshness_hours: 48}
"""


@pytest.fixture(scope="session")
def tiny_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One simulated tiny city (~600 residents) for the whole suite; tests copy it before changing it."""
    import simulator

    out = tmp_path_factory.mktemp("city") / "sources"
    simulator.generate(out, scale="tiny", seed=11)
    return out


@dataclass
class Hub:
    """One test's hub: home, sources (a copy of the tiny city), warehouse, loopback API."""

    home: Path
    warehouse_url: str
    env: dict[str, str]
    server: Any = None
    builds: list[Any] = field(default_factory=list)

    @property
    def sources(self) -> Path:
        return self.home / "sources"

    @property
    def settings(self) -> Settings:
        return get_settings()

    def serve(self, **faults: Any) -> None:
        """(Re)start the simulator's HTTP API on loopback with these FaultConfig settings."""
        from simulator.http_api import FaultConfig, serve_in_thread

        self.stop()
        self.server = serve_in_thread(
            self.sources, approval_token=TOKEN, services_api_key=API_KEY, faults=FaultConfig(seed=3, **faults)
        )
        os.environ["YIWANG_APPROVAL_URL"] = f"{self.server.url}/approval"
        os.environ["YIWANG_SERVICES_URL"] = f"{self.server.url}/services"
        self.env.update(
            YIWANG_APPROVAL_URL=os.environ["YIWANG_APPROVAL_URL"],
            YIWANG_SERVICES_URL=os.environ["YIWANG_SERVICES_URL"],
        )
        get_settings.cache_clear()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def wh(self) -> Warehouse:
        return Warehouse(self.warehouse_url)

    def extract(self, *systems: str) -> list[Any]:
        """Extract in-process (reference first), then check the ledger invariant."""
        from connectors import run

        entries = []
        try:
            entries += run.extract_reference()
            for s in systems or SYSTEMS:
                entries += run.extract_system(s)
        finally:
            self.check_ledger()
        return entries

    def check_ledger(self) -> None:
        with self.wh() as wh:
            assert_ledger_reconciles(wh)

    def build(self, *extra: str, freshness: bool = False, dbt_args: list[str] | None = None) -> Any:
        """extract is done; now raw gate → dbt build (build schemas) → mart gate → publish. ``dbt_args``
        replaces the default selection (the catalog mart and everything upstream of it)."""
        from yiwang.publish import build_and_publish

        out = build_and_publish(dbt_args=[*(dbt_args or DBT_BUILD), *extra], freshness=freshness, docs=False)
        self.builds.append(out)
        return out

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(
            [YIWANG, *args],
            env={**os.environ, **self.env, "COLUMNS": "250"},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if check:
            assert out.returncode == 0, (
                f"yiwang {' '.join(args)}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
            )
        return out

    # -- reading ------------------------------------------------------------------------------------------
    def raw_key_counts(self, table: Table) -> dict[str, int]:
        """How many distinct row versions raw holds per source key (composite keys joined by |)."""
        expr = " || '|' || ".join(f"coalesce(trim(\"{k}\"), '')" for k in table.key if k in table.columns)
        with self.wh() as wh:
            rows = wh.query(
                f"select {expr}, count(*) from {qname('raw_' + table.system, table.name)} group by 1"
            )
        return {k: int(n) for k, n in rows}

    def marts_checksum(self, exact: bool = False) -> dict[str, str]:
        """Order-independent checksum of every public mart table: sha256 over the sorted row hashes (floats
        rounded to 9 digits unless ``exact``: then every value as the warehouse returns it)."""
        out = {}
        with self.wh() as wh:
            rels = wh.query(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema like 'mart%' order by 1, 2"
            )
            for s, t in rels:
                if s.endswith("__build"):
                    continue
                rows = wh.query(f"select * from {qname(s, t)}")
                norm = (lambda v: v) if exact else _norm
                digests = sorted(
                    hashlib.sha256(repr(tuple(norm(v) for v in r)).encode()).hexdigest() for r in rows
                )
                out[f"{s}.{t}"] = f"{len(rows)}:" + hashlib.sha256("".join(digests).encode()).hexdigest()[:16]
        return out


def _norm(v: Any) -> Any:
    if isinstance(v, float):
        return round(v, 9)
    return v


def source_keys(sources: Path, system: str, table: str) -> set[str]:
    """The keys the source itself holds (SQLite tables, API JSONL)."""
    import json
    import sqlite3

    t = load_contract().table(system, table)
    if system in ("party", "grid"):
        con = sqlite3.connect(sources / f"{system}.sqlite")
        try:
            return {str(r[0]).strip() for r in con.execute(f'select "{t.key[0]}" from {table}')}
        finally:
            con.close()
    lines = (sources / "api" / system / f"{table}.jsonl").read_text(encoding="utf-8").splitlines()
    return {str(json.loads(line)[t.key[0]]).strip() for line in lines if line.strip()}


@pytest.fixture
def hub(
    tiny_city: Path, tmp_path: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Hub]:
    home = tmp_path / "home"
    shutil.copytree(tiny_city, home / "sources")
    (home / "sources.yaml").write_text(SOURCES_YAML, encoding="utf-8")
    env = {
        "YIWANG_HOME": str(home),
        "YIWANG_SOURCES": str(home / "sources.yaml"),
        "YIWANG_WAREHOUSE_URL": warehouse_url,
        "YIWANG_APPROVAL_TOKEN": TOKEN,
        "YIWANG_SERVICES_API_KEY": API_KEY,
        "YIWANG_HMAC_KEY": os.environ.get("YIWANG_HMAC_KEY") or "yiwang-test-key",
        "DBT_TARGET_PATH": str(tmp_path / "dbt_target"),
        "DBT_LOG_PATH": str(tmp_path / "dbt_logs"),
        "GX_ANALYTICS_ENABLED": "false",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    for k in ("YIWANG_PARTY_URL", "YIWANG_GRID_URL", "YIWANG_REFERENCE_DIR"):
        monkeypatch.delenv(k, raising=False)
    get_settings.cache_clear()
    h = Hub(home, warehouse_url, env)
    h.serve()
    try:
        yield h
    finally:
        h.stop()
        get_settings.cache_clear()


@contextmanager
def api_reader(limit: int = 50) -> Iterator[list[str]]:
    """The serving API on loopback, read in a loop (every 20 ms) while the block runs; yields the outcomes
    ('ok', or what went wrong) so a test can assert readers never failed while the pipeline wrote."""
    import threading
    import time

    import requests
    import uvicorn

    from serving.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, name="serving-api", daemon=True)
    thread.start()
    for _ in range(200):
        if server.started and server.servers:
            break
        time.sleep(0.05)
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    outcomes: list[str] = []
    stop = threading.Event()

    def read_loop() -> None:
        session = requests.Session()
        deadline = time.monotonic() + 1800  # bounded even if the pipeline hangs
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                r = session.get(f"{url}/v1/catalog", params={"limit": limit}, timeout=30)
                ok = r.status_code == 200 and len(r.json()["items"]) == limit
                outcomes.append("ok" if ok else f"HTTP {r.status_code}: {r.text[:200]}")
            except requests.RequestException as e:
                outcomes.append(f"error: {e}")
            time.sleep(0.02)

    reader = threading.Thread(target=read_loop, name="api-reader", daemon=True)
    reader.start()
    try:
        yield outcomes
    finally:
        stop.set()
        reader.join(timeout=60)
        server.should_exit = True
        thread.join(timeout=30)
