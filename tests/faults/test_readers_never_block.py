"""Readers and the pipeline never block each other: the API reads the published snapshot in a loop while a
full extract + build runs, with 0 errors, and the pipeline never fails on a lock a reader holds."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from faultkit import Hub


def _serve_api() -> tuple[object, threading.Thread, str]:
    import uvicorn

    from serving.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, name="serving-api", daemon=True)
    thread.start()
    for _ in range(200):
        if server.started and server.servers:
            break
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


# DuckDB only: there one writing process locks the file, which is what readers used to collide with; on
# PostgreSQL readers read the public schemas under MVCC (publish swaps them in one transaction).
@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_api_reads_through_a_full_extract_and_build(hub: Hub) -> None:
    hub.extract()
    hub.build()  # the first publish: something to read
    server, thread, url = _serve_api()
    outcomes: list[str] = []
    stop = threading.Event()

    def read_loop() -> None:
        session = requests.Session()
        deadline = time.monotonic() + 900  # bounded even if the pipeline hangs
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                r = session.get(f"{url}/v1/catalog", params={"limit": 50}, timeout=30)
                ok = r.status_code == 200 and len(r.json()["items"]) == 50
                outcomes.append("ok" if ok else f"HTTP {r.status_code}: {r.text[:200]}")
            except requests.RequestException as e:
                outcomes.append(f"error: {e}")
            time.sleep(0.02)

    reader = threading.Thread(target=read_loop, name="api-reader", daemon=True)
    reader.start()
    try:
        hub.extract()  # the pipeline writes the warehouse while the reader reads
        hub.build()
    finally:
        stop.set()
        reader.join(timeout=60)
        server.should_exit = True  # type: ignore[attr-defined]
        thread.join(timeout=30)
    failures = [o for o in outcomes if o != "ok"]
    assert len(outcomes) >= 20, f"only {len(outcomes)} reads during the run"
    assert failures == [], f"{len(failures)} of {len(outcomes)} reads failed: {failures[:5]}"
