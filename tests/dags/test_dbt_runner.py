"""yiwang.dbt_runner: in-process dbt against the configured warehouse, and the cached manifest."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from yiwang.dbt_runner import DbtRunError, ensure_manifest, manifest_is_fresh, manifest_path, run_dbt


def test_run_dbt_builds_into_the_settings_warehouse(tiny_project: Path, tiny_home: Any) -> None:
    run_dbt(["build"], project_dir=tiny_project)
    con = duckdb.connect(str(tiny_home.duckdb_path), read_only=True)
    try:
        assert con.execute("select count(*) from mart_catalog.service_catalog").fetchone()[0] == 658
    finally:
        con.close()
    assert "YIWANG_DUCKDB_PATH" not in os.environ or os.environ["YIWANG_DUCKDB_PATH"] != str(
        tiny_home.duckdb_path
    )


def test_failure_names_the_failed_node(make_tiny_project: Any, tiny_home: Any) -> None:
    project = make_tiny_project("broken", broken_sql=True)
    with pytest.raises(DbtRunError) as exc:
        run_dbt(["run"], project_dir=project)
    assert exc.value.failed_nodes == ["model.tiny.stg_demo__items"]
    assert "model.tiny.stg_demo__items" in str(exc.value)


def test_manifest_is_cached_until_a_model_changes(tiny_project: Path) -> None:
    m = ensure_manifest(tiny_project)
    assert m == manifest_path(tiny_project) and m.exists() and manifest_is_fresh(tiny_project)
    mtime = m.stat().st_mtime
    assert ensure_manifest(tiny_project).stat().st_mtime == mtime  # fresh: no dbt parse
    time.sleep(0.01)
    model = tiny_project / "models" / "marts" / "service_catalog.sql"
    model.write_text(model.read_text() + "\n")
    os.utime(model, (mtime + 5, mtime + 5))
    assert not manifest_is_fresh(tiny_project)
    assert ensure_manifest(tiny_project).stat().st_mtime > mtime
