"""The build DAG under a real scheduler with Celery workers, every dbt model its own task (not in CI).

    nice -n 10 .venv/bin/python bench/cluster_build.py --scale small [--home /tmp/yiwang-cluster-bench]

Simulates the city, starts `yiwang cluster` (PostgreSQL metadata, CeleryExecutor on Redis, two workers with one
slot each) on a fresh PostgreSQL warehouse, triggers the six extract DAGs through the REST API, lets their raw
Assets schedule `yiwang_build` (the whole project, one cosmos task per model, then the mart gate and publish),
and prints the build DAG's time from its start to success, the extract phase, and the tasks each worker ran.
Needs PostgreSQL and Redis on this machine (YIWANG_BENCH_PG_URL, default postgresql+psycopg://postgres@127.0.0.1).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _seconds(start: str, end: str) -> float:
    return (dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)).total_seconds()


def main() -> int:
    import redis
    import sqlalchemy as sa

    from simulator import http_api
    from yiwang.cluster import (
        BUILD_DAG,
        EXTRACT_DAGS,
        ClusterApi,
        ClusterConfig,
        start,
        stop,
    )

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="small")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--home", type=Path, default=Path("/tmp/yiwang-cluster-bench"))
    ap.add_argument("--timeout", type=float, default=3600)
    args = ap.parse_args()

    shutil.rmtree(args.home, ignore_errors=True)
    args.home.mkdir(parents=True)
    admin_url = sa.engine.make_url(
        os.environ.get("YIWANG_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1")
    )
    tag = uuid.uuid4().hex[:8]
    warehouse, metadata = f"yiwang_bench_wh_{tag}", f"yiwang_bench_af_{tag}"
    redis_db = next(db for db in range(15, 0, -1) if not redis.Redis(port=6379, db=db).dbsize())
    admin = sa.create_engine(admin_url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as con:
        con.execute(sa.text(f'create database "{warehouse}"'))
    target = f"target/cluster-bench-{tag}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "YIWANG_", "DBT_"))}
    env.update(
        YIWANG_HOME=str(args.home),
        YIWANG_WAREHOUSE_URL=admin_url.set(database=warehouse).render_as_string(hide_password=False),
        YIWANG_AIRFLOW_DB_URL=admin_url.set(database=metadata).render_as_string(hide_password=False),
        YIWANG_CELERY_REDIS_DB=str(redis_db),
        YIWANG_AIRFLOW_API_PORT=os.environ.get("YIWANG_AIRFLOW_API_PORT", "18181"),
        YIWANG_HMAC_KEY=os.environ.get("YIWANG_HMAC_KEY") or "yiwang-bench-key",
        YIWANG_APPROVAL_TOKEN=f"approval-{tag}",
        YIWANG_SERVICES_API_KEY=f"services-{tag}",
        DBT_TARGET_PATH=target,
    )
    cfg = ClusterConfig.from_env(env)
    server = None
    t0 = time.monotonic()
    try:
        subprocess.run(
            [sys.executable, "-c", "import sys, simulator; from pathlib import Path; "
             "simulator.generate(Path(sys.argv[1]), scale=sys.argv[2], seed=int(sys.argv[3]))",
             str(args.home / "sources"), args.scale, str(args.seed)],
            check=True, cwd=REPO,
        )  # fmt: skip
        subprocess.run(
            [sys.executable, "-c", "from yiwang.dbt_runner import ensure_manifest; ensure_manifest(force=True)"],
            check=True, cwd=REPO, env={**env, "YIWANG_BUILD_SCHEMA_SUFFIX": "__build"},
        )  # fmt: skip
        server = http_api.serve_in_thread(
            args.home / "sources", approval_token=env["YIWANG_APPROVAL_TOKEN"],
            services_api_key=env["YIWANG_SERVICES_API_KEY"],
        )  # fmt: skip
        env.update(YIWANG_APPROVAL_URL=f"{server.url}/approval", YIWANG_SERVICES_URL=f"{server.url}/services")
        cfg = ClusterConfig.from_env(env)
        print(f"prepared ({args.scale}: simulate + dbt parse) in {time.monotonic() - t0:.0f} s", flush=True)
        t1 = time.monotonic()
        start(cfg, wait=600)
        print(f"cluster started in {time.monotonic() - t1:.0f} s", flush=True)
        api = ClusterApi(cfg)
        api.trigger_extracts()
        build = api.wait_for_run(BUILD_DAG, args.timeout)
        # the runs triggered through the API (an hourly extract DAG may have started a scheduled run since)
        extract_runs = [r for d in EXTRACT_DAGS for r in api.runs(d) if r["run_type"] == "manual"]
        tis = api.task_instances(BUILD_DAG, build["dag_run_id"])
        dbt_tasks = [t for t in tis if t["task_id"].startswith("dbt.")]
        first = min(r["start_date"] for r in extract_runs)
        last = max(r["end_date"] for r in extract_runs)
        print(
            f"extract DAGs: {len(extract_runs)} runs, {_seconds(first, last):.0f} s from first start to last end"
        )
        print(
            f"build DAG {build['state']}: {_seconds(build['start_date'], build['end_date']):.0f} s from start to "
            f"{build['state']}; {len(tis)} tasks, {len(dbt_tasks)} of them one dbt model/seed each; "
            f"dbt task durations: median {sorted(t['duration'] for t in dbt_tasks)[len(dbt_tasks) // 2]:.1f} s"
        )
        print(f"tasks per worker, build DAG: {api.tasks_per_worker([BUILD_DAG])}")
        print(
            f"tasks per worker, triggered extracts: {api.tasks_per_worker(EXTRACT_DAGS, run_type='manual')}"
        )
        return 0 if build["state"] == "success" else 1
    finally:
        print(f"stop: {stop(cfg)}", flush=True)
        if server is not None:
            server.stop()
        with admin.connect() as con:
            for db in (warehouse, metadata):
                con.execute(sa.text(f'drop database if exists "{db}" with (force)'))
        admin.dispose()
        redis.Redis(port=6379, db=redis_db).flushdb()
        shutil.rmtree(REPO / "dbt_project" / target, ignore_errors=True)
        print(f"total {time.monotonic() - t0:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
