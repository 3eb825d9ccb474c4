"""The README's main job, end to end at `small` scale: every contract table lands, every batch reconciles,
the catalog mart has 132 + 526 rows, and a second run changes no row count."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from yiwang.contracts import load_contract

pytestmark = pytest.mark.e2e
YIWANG = str(Path(sys.executable).parent / "yiwang")


def _run_demo(home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, YIWANG_HOME=str(home), COLUMNS="200")
    for var in ("YIWANG_WAREHOUSE_URL", "YIWANG_SOURCES", "YIWANG_APPROVAL_URL", "YIWANG_SERVICES_URL"):
        env.pop(var, None)
    return subprocess.run([YIWANG, "demo", "--scale", "small"], env=env, capture_output=True, text=True,
                          timeout=1500, check=False)


def _counts(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema like 'raw_%' or table_schema like 'mart_%' or table_schema = 'staging'"
        ).fetchall()
        return {f"{s}.{t}": con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0] for s, t in tables}
    finally:
        con.close()


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("demo")
    result = _run_demo(home)
    assert result.returncode == 0, f"demo failed:\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}"
    (home / "first_run.txt").write_text(result.stdout + result.stderr, encoding="utf-8")
    return home


def test_every_contract_table_landed(demo_home: Path) -> None:
    counts = _counts(demo_home / "warehouse.duckdb")
    for table in load_contract().all_tables():
        assert counts.get(table.raw_table, 0) > 0, f"{table.raw_table} is empty or missing"


def test_ledger_reconciles_for_every_batch(demo_home: Path) -> None:
    con = duckdb.connect(str(demo_home / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from ops.load_ledger").fetchone()[0] > 0
        bad = con.execute(
            "select system, table_name, batch_id from ops.load_ledger where rows_read <> rows_landed + rows_quarantined"
        ).fetchall()
        assert bad == []
        assert con.execute("select count(*) from ops.load_ledger where status <> 'success'").fetchone()[0] == 0
    finally:
        con.close()


def test_catalog_has_every_item_once(demo_home: Path) -> None:
    con = duckdb.connect(str(demo_home / "warehouse.duckdb"), read_only=True)
    try:
        kinds = dict(con.execute(
            "select item_kind, count(*) from mart_catalog.service_catalog group by 1").fetchall())
        assert kinds == {"government": 132, "life": 526}
        assert con.execute(
            "select count(*) - count(distinct item_code) from mart_catalog.service_catalog").fetchone()[0] == 0
    finally:
        con.close()


def test_summary_printed(demo_home: Path) -> None:
    out = (demo_home / "first_run.txt").read_text(encoding="utf-8")
    for word in ("read", "landed", "quarantined", "mart_catalog.service_catalog", "warehouse"):
        assert word in out
    for system in ("party", "grid", "approval", "property", "services", "hotline"):
        assert system in out


def test_second_run_changes_no_row_count(demo_home: Path) -> None:
    before = _counts(demo_home / "warehouse.duckdb")
    result = _run_demo(demo_home)
    assert result.returncode == 0, result.stderr[-8000:]
    assert _counts(demo_home / "warehouse.duckdb") == before
