"""Run the build DAG for real with ``airflow dags test`` on tiny dbt projects and a tiny warehouse."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

pytestmark = pytest.mark.integration


def _build_log(settings: Any) -> list[tuple]:
    con = duckdb.connect(str(settings.duckdb_path), read_only=True)
    try:
        if not con.execute(
            "select count(*) from information_schema.tables where table_name = 'build_log'"
        ).fetchone()[0]:
            return []
        return con.execute("select run_id, mart_row_counts, docs_path from ops.build_log").fetchall()
    finally:
        con.close()


def test_build_dag_publishes_after_both_gates(airflow_cli: Any, tiny_home: Any) -> None:
    out, seconds = airflow_cli.dags_test("tiny_build_ok", tiny_home.home)
    states = airflow_cli.task_states("tiny_build_ok")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-5000:]
    assert states["dbt.stg_demo__items_model_build"] == "success"
    assert states["dbt.service_catalog_model_build"] == "success"
    assert states["source_freshness"] == states["raw_gate"] == states["mart_gate"] == "success", states
    assert states["publish"] == states["docs"] == "success", states
    (log,) = _build_log(tiny_home)
    assert log[0].startswith("manual__")
    assert json.loads(log[1]) == {"mart_catalog.service_catalog": 658}
    assert log[2] and Path(log[2]).is_file()
    print(f"\n`airflow dags test tiny_build_ok` (2 dbt tasks + 6): {seconds:.1f} s")


def test_failed_mart_gate_blocks_publish(airflow_cli: Any, tiny_home: Any) -> None:
    """525 life items: dbt's own tests pass, the GX mart gate fails, nothing is published.
    That project has no manifest, so this also runs the fallback single ``dbt_build`` task."""
    out, _ = airflow_cli.dags_test("tiny_build_short", tiny_home.home)
    states = airflow_cli.task_states("tiny_build_short")
    assert states["dbt_build"] == "success", out.stdout[-3000:] + out.stderr[-5000:]
    assert states["mart_gate"] == "failed"
    assert states["publish"] == "upstream_failed"
    assert _build_log(tiny_home) == []
