"""Load faults through the real connectors on real sources (SQLite, MariaDB, loopback HTTP API, files), on
DuckDB and PostgreSQL: a load killed half-way, HTTP faults, a source that stays down. Redelivery of every batch
and reruns are in test_pipeline_lifecycle.py (one pipeline with the rebuild, full-refresh and key checks)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faultkit import Hub, source_keys

from connectors.errors import ExtractError
from yiwang.contracts import load_contract

# Runs `yiwang extract grid` with a hook: the 3rd table's load stops inside its transaction, after its raw
# rows, ledger row and cursor were written but before the commit, and waits to be killed.
KILL_HOOK = r"""
import os, sys, time
import connectors.landing as landing
orig = landing.TableLoad._finish
seen = []
def _finish(self):
    orig(self)
    seen.append(self.table.name)
    if len(seen) == 3:
        open(os.environ["KILL_MARKER"], "w").write(self.table.name)
        time.sleep(120)
landing.TableLoad._finish = _finish
from yiwang.cli import run
sys.argv = ["yiwang", "extract", "grid"]
run()
"""


def test_load_killed_half_way_then_retried(hub: Hub, tmp_path: Path) -> None:
    marker = tmp_path / "killed_in"
    env = {**os.environ, **hub.env, "KILL_MARKER": str(marker)}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_HOOK],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 120
        while not marker.exists():
            assert proc.poll() is None, proc.communicate()[1].decode()[-3000:]
            assert time.time() < deadline, "the load never reached the kill point"
            time.sleep(0.1)
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # our own child, by pid
        proc.wait(timeout=30)
    killed_table = marker.read_text()
    hub.check_ledger()  # nothing of the killed batch: no raw rows, no ledger row, no cursor move
    with hub.wh() as wh:
        landed = {
            t for (t,) in wh.query("select distinct table_name from ops.load_ledger where system = 'grid'")
        }
        assert killed_table not in landed and len(landed) == 2
        assert (
            wh.scalar(
                "select count(*) from ops.load_state where system = 'grid' and table_name = ?", [killed_table]
            )
            == 0
        )
    hub.extract("grid")  # the retry
    for table in load_contract().systems["grid"].tables.values():
        counts = hub.raw_key_counts(table)
        assert set(counts) == source_keys(hub.sources, "grid", table.name), table.name
        assert max(counts.values()) == 1, f"{table.name}: duplicated rows after the retry"


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_http_429_503_repeated_pages_then_down_then_recovery(hub: Hub) -> None:
    hub.serve(rate_429=0.15, retry_after=0, rate_5xx=0.15, repeat_page=0.3)
    entries = hub.extract("approval", "services")
    assert any("repeated" in (e.message or "") for e in entries), "no page was repeated"
    for system in ("approval", "services"):
        for table in load_contract().systems[system].tables.values():
            counts = hub.raw_key_counts(table)
            assert set(counts) == source_keys(hub.sources, system, table.name)
            assert max(counts.values()) == 1

    with hub.wh() as wh:
        cursors = dict(
            wh.query("select table_name, cursor_value from ops.load_state where system = 'approval'")
        )
        raw_rows = wh.scalar("select count(*) from raw_approval.cases")
    _new_cases(hub.sources, 7)  # new cases at the source meanwhile
    hub.serve(down=True)
    with pytest.raises(ExtractError) as exc:
        hub.extract("approval")
    assert "503" in str(exc.value) and "approval.cases" in str(exc.value)
    with hub.wh() as wh:
        assert (
            dict(wh.query("select table_name, cursor_value from ops.load_state where system = 'approval'"))
            == cursors
        )
        assert wh.scalar("select count(*) from raw_approval.cases") == raw_rows
        assert (
            wh.scalar("select count(*) from ops.load_ledger where system = 'approval' and status = 'failed'")
            == 3
        )

    hub.serve()  # recovered: everything the source has now, no gap
    hub.extract("approval")
    counts = hub.raw_key_counts(load_contract().table("approval", "cases"))
    assert set(counts) == source_keys(hub.sources, "approval", "cases")


def _new_cases(sources: Path, n: int) -> None:
    """Append n cases updated after everything the source had (a cursor-respecting change)."""
    import json

    path = sources / "api" / "approval" / "cases.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    latest = max(r["updatedAt"] for r in rows)
    base = dict(rows[-1])
    with path.open("a", encoding="utf-8") as fh:
        for i in range(n):
            stamp = latest[:11] + "23:59:" + f"{i + 10:02d}" + latest[19:]
            fh.write(json.dumps(dict(base, bjbh=f"NEW{i:05d}", updatedAt=stamp), ensure_ascii=False) + "\n")
