"""Every DAG file imports cleanly and quickly, and the DAGs are wired as DESIGN says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from yiwang.settings import SYSTEMS

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
EXPECTED = {"yiwang_build", *(f"yiwang_extract_{s}" for s in SYSTEMS)}


def _uris(assets: Any) -> set[str]:
    return {a.uri for a in assets}


def _is_acyclic(dag: Any) -> bool:
    indegree = {t.task_id: len(t.upstream_task_ids) for t in dag.tasks}
    ready = [t for t, n in indegree.items() if n == 0]
    seen = 0
    while ready:
        tid = ready.pop()
        seen += 1
        for d in dag.get_task(tid).downstream_task_ids:
            indegree[d] -= 1
            if indegree[d] == 0:
                ready.append(d)
    return seen == len(indegree)


def test_no_import_errors(dagbag: Any) -> None:
    assert dagbag.import_errors == {}
    assert EXPECTED <= set(dagbag.dag_ids)


def test_every_dag_file_says_airflow() -> None:
    for f in DAGS_DIR.glob("*.py"):
        assert "airflow" in f.read_text(encoding="utf-8"), f"{f.name}: the DAG processor skips it"


@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_dag_conventions(dagbag: Any, dag_id: str) -> None:
    from airflow.timetables.simple import NullTimetable

    dag = dagbag.dags[dag_id]
    assert dag.tags and "yiwang" in dag.tags
    assert not isinstance(dag.timetable, NullTimetable), "every DAG has a schedule"
    assert dag.catchup is False
    assert dag.default_args.get("owner") == "yiwang" and dag.default_args.get("retries", 0) >= 1
    assert dag.max_active_runs == 1
    assert _is_acyclic(dag)


def test_extract_dags_update_their_asset(dagbag: Any) -> None:
    for system in SYSTEMS:
        dag = dagbag.dags[f"yiwang_extract_{system}"]
        task = dag.get_task(f"extract_{system}")
        assert _uris(task.outlets) == {f"yiwang://raw/{system}"}
        assert dag.get_task("load_reference").downstream_task_ids == {f"extract_{system}"}


def test_build_dag_is_scheduled_on_all_six_raw_assets(dagbag: Any) -> None:
    from airflow.sdk import AssetAll

    dag = dagbag.dags["yiwang_build"]
    cond = dag.timetable.asset_condition
    assert isinstance(cond, AssetAll)
    assert _uris(cond.objects) == {f"yiwang://raw/{s}" for s in SYSTEMS}
    assert dag.max_active_tasks == 1  # dbt tasks on DuckDB run one at a time
    publish = dag.get_task("publish")
    assert _uris(publish.outlets) == {"yiwang://marts/published"}
    assert publish.upstream_task_ids == {"mart_gate"}
    assert dag.get_task("source_freshness").upstream_task_ids == {"refresh_manifest"}
    assert dag.get_task("raw_gate").upstream_task_ids == {"source_freshness"}
    assert dag.get_task("docs").upstream_task_ids == {"publish"}


def test_build_dag_without_manifest_falls_back_to_one_dbt_task(tiny_project: Path) -> None:
    from build import make_build_dag

    dag = make_build_dag("yiwang_build_nomanifest", tiny_project)
    ids = {t.task_id for t in dag.tasks}
    assert ids == {
        "refresh_manifest",
        "source_freshness",
        "raw_gate",
        "dbt_build",
        "mart_gate",
        "publish",
        "docs",
    }
    assert dag.get_task("dbt_build").upstream_task_ids == {"raw_gate"}
    assert dag.get_task("mart_gate").upstream_task_ids == {"dbt_build"}


def test_build_dag_renders_each_model_from_the_manifest(tiny_project: Path) -> None:
    from build import make_build_dag

    from yiwang.dbt_runner import ensure_manifest

    ensure_manifest(tiny_project)
    dag = make_build_dag("yiwang_build_tiny", tiny_project)
    ids = {t.task_id for t in dag.tasks}
    # one `dbt build` task per model (the model and its tests), in the models' dependency order
    assert {"dbt.stg_demo__items_model_build", "dbt.service_catalog_model_build"} <= ids
    assert dag.get_task("mart_gate").upstream_task_ids == {"dbt.service_catalog_model_build"}
    assert dag.get_task("dbt.service_catalog_model_build").upstream_task_ids == {
        "dbt.stg_demo__items_model_build"
    }
    first = [t for t in dag.tasks if t.task_id.startswith("dbt.") and not t.upstream_task_ids - {"raw_gate"}]
    assert {t.task_id for t in first} == {"dbt.stg_demo__items_model_build"}


def test_build_dag_layer_mode_covers_the_project_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded demo's rendering: one cosmos `dbt build` per layer, chained, selecting every node once."""
    from build import DBT_LAYERS, make_build_dag

    from yiwang.dbt_runner import manifest_path
    from yiwang.settings import get_settings

    monkeypatch.setenv("YIWANG_DBT_TASKS", "layer")
    get_settings.cache_clear()
    try:
        dag = make_build_dag("yiwang_build_layers")
    finally:
        get_settings.cache_clear()
    names = [f"dbt_{name}" for name, _, _ in DBT_LAYERS]
    assert names == ["dbt_staging", "dbt_identity", "dbt_marts"]
    assert dag.get_task("dbt_staging").upstream_task_ids == {"raw_gate"}
    assert dag.get_task("dbt_identity").upstream_task_ids == {"dbt_staging"}
    assert dag.get_task("dbt_marts").upstream_task_ids == {"dbt_identity"}
    assert dag.get_task("mart_gate").upstream_task_ids == {"dbt_marts"}
    assert type(dag.get_task("dbt_marts")).__name__ == "DbtBuildLocalOperator"
    # each later layer excludes what the earlier ones selected
    assert dag.get_task("dbt_marts").exclude == f"{DBT_LAYERS[0][1]} {DBT_LAYERS[1][1]}"
    # each layer hands dbt's partial-parse state to the next (cosmos passes none without a cache dir: every layer
    # parsed the whole project), kept beside the project's manifest, and records no Airflow asset per dbt node
    for name in names:
        task = dag.get_task(name)
        assert task.partial_parse and task.cache_dir == manifest_path().parent / "cosmos_layers", name
        assert task.emit_datasets is False, name


def test_dbt_tasks_setting_is_checked(tmp_path: Path) -> None:
    from yiwang.settings import ConfigError, load_settings

    with pytest.raises(ConfigError, match="YIWANG_DBT_TASKS"):
        load_settings({"YIWANG_HOME": str(tmp_path), "YIWANG_DBT_TASKS": "everything"})


def test_real_project_renders(tmp_path: Path) -> None:
    from build import make_build_dag

    from yiwang.dbt_runner import DBT_PROJECT_DIR, DbtRunError, ensure_manifest

    if not (DBT_PROJECT_DIR / "dbt_project.yml").exists():
        pytest.skip("dbt_project/ does not exist yet")
    try:
        ensure_manifest(DBT_PROJECT_DIR)
    except DbtRunError as e:
        pytest.skip(f"dbt_project/ does not parse yet: {e}")
    dag = make_build_dag("yiwang_build_real", DBT_PROJECT_DIR)
    models = [t.task_id for t in dag.tasks if t.task_id.startswith("dbt.")]
    assert any("service_catalog" in t for t in models)
    assert any(t.startswith("dbt.stg_") for t in models)


def test_dag_files_import_fast_without_a_warehouse(tmp_path: Path) -> None:
    """Parsing touches no database: a home with no warehouse stays empty, and filling the bag is quick."""
    home = tmp_path / "empty_home"
    home.mkdir()
    code = (
        "import json, time; from pathlib import Path\n"
        "from airflow.dag_processing.dagbag import BundleDagBag\n"
        f"t = time.perf_counter(); b = BundleDagBag(dag_folder={str(DAGS_DIR)!r}, bundle_path=Path({str(DAGS_DIR)!r}))\n"
        "print(json.dumps({'seconds': time.perf_counter() - t, 'errors': b.import_errors, 'dags': len(b.dags)}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("YIWANG_")}
    env.update(YIWANG_HOME=str(home), AIRFLOW_HOME=str(tmp_path / "af"))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["errors"] == {} and report["dags"] >= len(EXPECTED)
    assert report["seconds"] < 15, report  # typically < 1 s; generous for a loaded machine
    assert not (home / "warehouse.duckdb").exists()
    assert not any(home.rglob("*.duckdb"))
