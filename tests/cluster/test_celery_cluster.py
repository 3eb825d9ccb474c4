"""Airflow as a city runs it: `yiwang cluster` starts PostgreSQL-backed Airflow with the CeleryExecutor (Redis),
a scheduler, dag-processor, triggerer, api-server and two Celery workers on loopback. The test triggers the six
extract DAGs through the REST API, lets their raw Assets schedule the project's build DAG (dags/build.py,
rendered by cosmos with one task per dbt model), waits for it to succeed, checks that both workers ran tasks,
and stops everything it started, also when it fails.

What it runs, to fit CI's time (docs/deployment.md): the `tiny` simulated city on a fresh PostgreSQL warehouse,
and the build DAG with ``YIWANG_DBT_SELECT="+party_service_monthly"``: the real DAG file and task group, five
per-model tasks (the mart, its two intermediate and two staging models) on two branches, a partial build that stops after dbt (no mart gate or publish). The whole project per model on `small` is
measured outside CI (figures in docs/deployment.md).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
DBT_SELECT = "+party_service_monthly"  # 5 models on two branches (party_meeting_compliance now reads grid resolution: 37)
WAIT_S = 600  # a hung cluster fails the test; a healthy one on a loaded 2-core machine takes a few minutes

_SIMULATE = """
import sys
from pathlib import Path
import simulator
simulator.generate(Path(sys.argv[1]), scale="tiny", seed=42, dirt_rate=0.05)
"""
# The dag-processor renders the build from the manifest, so it is parsed before the cluster starts (as the
# Dockerfile does), with the build-schema suffix the model tasks run with: refresh_manifest's parse and every
# model task's then reuse its partial-parse state.
_PARSE = """
from yiwang.dbt_runner import ensure_manifest
print(ensure_manifest(force=True))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _selected_nodes(manifest: Path, select: str) -> set[str]:
    """The dbt models and seeds the selection names (each `+name`: the model and all its ancestors)."""
    nodes = {
        uid: n
        for uid, n in json.loads(manifest.read_text())["nodes"].items()
        if n["resource_type"] in ("model", "seed")
    }
    out: set[str] = set()
    todo = [uid for uid, n in nodes.items() for s in select.split() if n["name"] == s.lstrip("+")]
    while todo:
        uid = todo.pop()
        if uid not in out:
            out.add(uid)
            todo += [d for d in nodes[uid].get("depends_on", {}).get("nodes", []) if d in nodes]
    return {f"{nodes[u]['name']}_{nodes[u]['resource_type']}_build" for u in out}


@pytest.fixture
def cluster_env(tmp_path: Path, pg_url: str, redis_db: int) -> Iterator[dict[str, str]]:
    """A tiny city's sources and its APIs on a loopback port, a fresh PostgreSQL warehouse (pg_url), a metadata
    database the cluster creates (dropped here afterwards) and an empty Redis database for the broker."""
    import sqlalchemy as sa

    from simulator import http_api
    from yiwang.cluster import ClusterConfig, ensure_database

    url = sa.engine.make_url(pg_url)
    metadata = f"{url.database}_airflow"
    home = tmp_path / "home"
    tag = uuid.uuid4().hex[:8]
    # relative, as dbt resolves it: each cosmos task then writes into its own copy of the project, never into
    # the manifest the next task's DAG parse reads (an absolute path is shared by every task: a race)
    target = f"target/cluster-{tag}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "YIWANG_", "DBT_"))}
    env.update(
        YIWANG_HOME=str(home),
        YIWANG_WAREHOUSE_URL=pg_url,
        DBT_TARGET_PATH=target,
        DBT_LOG_PATH=str(tmp_path / "dbt_logs"),
        YIWANG_AIRFLOW_DB_URL=url.set(drivername="postgresql+psycopg", database=metadata).render_as_string(
            hide_password=False
        ),
        YIWANG_CELERY_REDIS_DB=str(redis_db),
        YIWANG_AIRFLOW_API_PORT=str(_free_port()),
        YIWANG_AIRFLOW_STOP_GRACE="20",
    )
    # the tiny city, dbt's parse and Airflow's migration side by side; the cluster starts once all are done
    ensure_database(env["YIWANG_AIRFLOW_DB_URL"])
    cfg = ClusterConfig.from_env(env)
    cfg.log_dir.mkdir(parents=True)
    migrate_log = (cfg.log_dir / "migrate.log").open("w")
    migrate = subprocess.Popen(
        [str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
        env=cfg.airflow_env(),
        stdout=migrate_log,
        stderr=subprocess.STDOUT,
    )
    sim = subprocess.Popen([sys.executable, "-c", _SIMULATE, str(home / "sources")], cwd=REPO)
    parse = subprocess.Popen(
        [sys.executable, "-c", _PARSE],
        cwd=REPO,
        env={**env, "YIWANG_BUILD_SCHEMA_SUFFIX": "__build"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    secrets = {"approval": f"approval-{tag}", "services": f"services-{tag}"}
    server = None
    try:
        assert sim.wait(timeout=300) == 0, "simulating the tiny city failed"
        out, _ = parse.communicate(timeout=300)
        assert parse.returncode == 0, f"dbt parse failed:\n{out[-3000:]}"
        assert migrate.wait(timeout=300) == 0, f"airflow db migrate failed: see {cfg.log_dir / 'migrate.log'}"
        server = http_api.serve_in_thread(
            home / "sources", approval_token=secrets["approval"], services_api_key=secrets["services"]
        )
        env.update(
            YIWANG_HMAC_KEY=os.environ.get("YIWANG_HMAC_KEY") or "yiwang-test-key",
            YIWANG_APPROVAL_TOKEN=secrets["approval"],
            YIWANG_SERVICES_API_KEY=secrets["services"],
            YIWANG_APPROVAL_URL=f"{server.url}/approval",
            YIWANG_SERVICES_URL=f"{server.url}/services",
            YIWANG_DBT_SELECT=DBT_SELECT,
        )
        yield env
    finally:
        migrate_log.close()
        shutil.rmtree(REPO / "dbt_project" / target, ignore_errors=True)
        for proc in (sim, parse, migrate):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if server is not None:
            server.stop()
        admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as con:
            con.execute(sa.text(f'drop database if exists "{metadata}" with (force)'))
        admin.dispose()


def test_celery_cluster_runs_the_extracts_and_the_per_model_build(cluster_env: dict[str, str]) -> None:
    import sqlalchemy as sa

    from yiwang.cluster import (
        BUILD_DAG,
        COMPONENTS,
        EXTRACT_DAGS,
        ClusterApi,
        ClusterConfig,
        running,
        start,
        stop,
    )

    cfg = ClusterConfig.from_env(cluster_env)
    manifest = REPO / "dbt_project" / cluster_env["DBT_TARGET_PATH"] / "manifest.json"
    expected_dbt = _selected_nodes(manifest, DBT_SELECT)
    deadline = time.monotonic() + WAIT_S
    try:
        start(cfg, wait=300, migrate_db=False)  # the fixture migrated while the city was simulated
        assert set(running(cfg)) == set(COMPONENTS)
        api = ClusterApi(cfg)
        api.trigger_extracts()  # POST /api/v2/dags/{id}/dagRuns for each extract DAG

        build = api.wait_for_run(BUILD_DAG, deadline - time.monotonic())
        tis = {ti["task_id"]: ti for ti in api.task_instances(BUILD_DAG, build["dag_run_id"])}
        failed = {t: ti["state"] for t, ti in tis.items() if ti["state"] != "success"}
        assert build["state"] == "success", f"build run {build['state']}; not successful: {failed}"
        assert build["run_type"] == "asset_triggered"
        assert {"refresh_manifest", "source_freshness", "raw_gate"} <= tis.keys()
        dbt_tasks = {t.removeprefix("dbt.") for t in tis if t.startswith("dbt.")}
        assert dbt_tasks == expected_dbt, "not one cosmos task per selected dbt model"
        assert len(dbt_tasks) >= 5
        for dag_id in EXTRACT_DAGS:
            # the run triggered through the API (an hourly DAG may have started its next scheduled run since)
            manual = [r["state"] for r in api.runs(dag_id) if r["run_type"] == "manual"]
            assert manual == ["success"], f"{dag_id}: {api.runs(dag_id)}"
        workers = api.tasks_per_worker([*EXTRACT_DAGS, BUILD_DAG])
        assert set(workers) == {"worker-1", "worker-2"}, f"tasks per worker: {workers}"

        engine = sa.create_engine(cluster_env["YIWANG_WAREHOUSE_URL"])
        try:
            with engine.connect() as con:
                rows = con.execute(
                    sa.text("select count(*) from mart_party__build.party_service_monthly")
                ).scalar()
        finally:
            engine.dispose()
        assert rows and rows > 0
        print(f"\ntasks per worker: {workers}; build run {build['start_date']} -> {build['end_date']}")
    finally:
        outcome = stop(cfg)
    assert set(outcome) == set(COMPONENTS)
    assert not running(cfg), f"still running after stop: {running(cfg)}"
