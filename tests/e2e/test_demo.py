"""The README's main job, end to end at `small` scale: every contract table lands, every batch reconciles,
the catalog mart has 132 + 526 rows, and a second run changes no row count.

The first run is the session's shared `small_demo` (tests/conftest.py, through Airflow); the second run reruns
the demo on that home without Airflow (same functions, one process), so it is marked to run after every other
test of the session.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pytest

from yiwang.contracts import load_contract
from yiwang.demo import BUILD_DAG, EXTRACT_DAGS

pytestmark = pytest.mark.e2e


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


def test_every_contract_table_landed(small_demo) -> None:
    counts = _counts(small_demo.warehouse)
    for table in load_contract().all_tables():
        assert counts.get(table.raw_table, 0) > 0, f"{table.raw_table} is empty or missing"


def test_ledger_reconciles_for_every_batch(small_demo) -> None:
    con = duckdb.connect(str(small_demo.warehouse), read_only=True)
    try:
        assert con.execute("select count(*) from ops.load_ledger").fetchone()[0] > 0
        bad = con.execute(
            "select system, table_name, batch_id from ops.load_ledger where rows_read <> rows_landed + rows_quarantined"
        ).fetchall()
        assert bad == []
        assert (
            con.execute("select count(*) from ops.load_ledger where status <> 'success'").fetchone()[0] == 0
        )
    finally:
        con.close()


def test_catalog_has_every_item_once(small_demo) -> None:
    con = duckdb.connect(str(small_demo.warehouse), read_only=True)
    try:
        kinds = dict(
            con.execute("select item_kind, count(*) from mart_catalog.service_catalog group by 1").fetchall()
        )
        assert kinds == {"government": 132, "life": 526}
        assert (
            con.execute(
                "select count(*) - count(distinct item_code) from mart_catalog.service_catalog"
            ).fetchone()[0]
            == 0
        )
    finally:
        con.close()


def test_summary_printed(small_demo) -> None:
    out = small_demo.stdout + small_demo.stderr
    for word in ("read", "landed", "quarantined", "mart_catalog.service_catalog", "warehouse"):
        assert word in out
    for system in ("party", "grid", "approval", "property", "services", "hotline"):
        assert system in out


def test_every_dag_run_recorded_in_airflow(small_demo) -> None:
    """The demo runs its DAGs in one Airflow process; each run and task is still in Airflow's metadata DB with
    its state, as `airflow dags test` records them (bench/incremental.py reads its stage seconds there)."""
    con = sqlite3.connect(small_demo.home / "airflow" / "airflow.db")
    try:
        runs = con.execute("select dag_id, run_id, state, start_date, end_date from dag_run").fetchall()
        tasks = con.execute("select dag_id, run_id, task_id, state from task_instance").fetchall()
    finally:
        con.close()
    assert {r[0] for r in runs} == {*EXTRACT_DAGS, BUILD_DAG}
    assert [r for r in runs if r[2] != "success" or not (r[3] and r[4])] == []
    assert [t for t in tasks if t[3] != "success"] == []
    for dag_id, run_id, *_ in runs:
        assert any(t[:2] == (dag_id, run_id) for t in tasks), f"{dag_id} {run_id} ran no task"
    out = small_demo.stdout + small_demo.stderr  # the console line per DAG run
    for dag_id in (*EXTRACT_DAGS, BUILD_DAG):
        assert f"{dag_id}: ok" in out


@pytest.mark.slow
@pytest.mark.mutates_small_demo  # reruns the demo on the shared home: idempotent by design, runs last
def test_second_run_changes_no_row_count(small_demo) -> None:
    """The rerun takes `--no-airflow`: the same extract and build functions the DAG tasks call, in one
    process (the first run already went through every DAG); through Airflow it cost CI 200 s more."""
    before = _counts(small_demo.warehouse)
    result = small_demo.rerun_demo("--no-airflow")
    assert result.returncode == 0, result.stderr[-8000:]
    assert _counts(small_demo.warehouse) == before
