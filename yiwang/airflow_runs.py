"""Several DAG runs in ONE Airflow process: ``python -m yiwang.airflow_runs [--migrate] DAG_ID ...``.

What ``airflow dags test DAG_ID`` does for one DAG (``dag_command.dag_test``: the DAG from its bundle's DagBag,
then ``DAG.test()``: the bundle synced to the metadata DB, a manual DagRun, its tasks run in this process and
recorded with their states), for each DAG given, in order, in one interpreter: Airflow is imported and configured,
the DAG folder parsed and the tasks' own modules (connectors, DuckDB, dbt, GX) imported once instead of once per
DAG. ``DAG.test()`` still re-syncs the DAG folder to the metadata DB on each call (Airflow 3.3, apache/airflow#64884);
with every module imported already that costs well under a second. ``--migrate`` first brings the metadata DB up
to date (``airflow db migrate``). Every run goes on whether an earlier one failed, as one ``airflow dags test``
after another did.

Airflow's configuration comes from the environment (``AIRFLOW_HOME``, ``AIRFLOW__*``), so the caller sets it
before starting this module (yiwang.demo ``airflow_env``). Airflow's and the tasks' output goes to stdout/stderr;
``--report-fd N`` writes one JSON line per event to file descriptor N (``migrated``, ``parsed``, ``start``,
``end`` with ``state`` and ``seconds``), which yiwang.demo reads to print a line per DAG. Exit status 0 when
every run succeeded, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import IO, Any

from airflow.configuration import write_default_airflow_configuration_if_needed
from airflow.dag_processing.bundles.manager import DagBundlesManager
from airflow.dag_processing.dagbag import BundleDagBag
from airflow.providers_manager import ProvidersManager
from airflow.sdk import timezone
from airflow.utils import db
from airflow.utils.state import DagRunState

from yiwang.settings import get_settings

Report = Callable[..., None]


def migrate() -> None:
    """``airflow db migrate``: the default airflow.cfg written if missing, the metadata DB upgraded."""
    write_default_airflow_configuration_if_needed()
    db.upgradedb()


def load_dags(dag_ids: list[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The DAGs asked for, from one parse of every configured bundle (the dags folder on the embedded default),
    and the bundle's import errors (file -> error) to name when a DAG is missing."""
    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    found: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for bundle in manager.get_all_dag_bundles():
        bundle.initialize()
        bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
        errors.update(bag.import_errors)
        found.update({d: bag.dags[d] for d in dag_ids if d in bag.dags and d not in found})
        if len(found) == len(set(dag_ids)):
            break
    return found, errors


def run_dag(dag: Any) -> tuple[str, str]:
    """One DagRun of ``dag`` as ``airflow dags test`` makes it (logical date now, tasks in this process);
    its run id and final state. The process environment and the cached settings are restored afterwards, so
    a task's changes to them (the build DAG's dbt callbacks set dbt's variables) do not reach the next run,
    as they did not when each run had its own process."""
    environ = dict(os.environ)
    try:
        dr = dag.test(logical_date=timezone.utcnow())
    finally:
        os.environ.clear()
        os.environ.update(environ)
        get_settings.cache_clear()
    state = dr.state.value if isinstance(dr.state, DagRunState) else str(dr.state)
    return dr.run_id, state


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m yiwang.airflow_runs", description=__doc__.split("\n\n")[0])
    ap.add_argument("dag_ids", nargs="+", metavar="DAG_ID")
    ap.add_argument("--migrate", action="store_true", help="airflow db migrate first")
    ap.add_argument("--report-fd", type=int, help="file descriptor for one JSON line per event")
    args = ap.parse_args(argv)
    out: IO[str] | None = os.fdopen(args.report_fd, "w", buffering=1) if args.report_fd is not None else None

    def report(event: str, **fields: object) -> None:
        line = json.dumps({"event": event, **fields})
        print(f"[airflow_runs] {line}", flush=True)  # into the log as well, between Airflow's output
        if out is not None:
            out.write(line + "\n")

    t0 = time.perf_counter()
    ProvidersManager().initialize_providers_configuration()  # as every Airflow CLI command does first
    if args.migrate:
        migrate()
        report("migrated", seconds=round(time.perf_counter() - t0, 3))
    db.synchronize_log_template()  # as `airflow dags test` does before its run
    t0 = time.perf_counter()
    dags, errors = load_dags(args.dag_ids)
    report("parsed", seconds=round(time.perf_counter() - t0, 3), dags=sorted(dags))
    failed = 0
    for n, dag_id in enumerate(args.dag_ids):
        report("start", index=n, dag_id=dag_id)
        t0 = time.perf_counter()
        run_id, state = None, "failed"
        if dag_id not in dags:
            print(
                f"DAG {dag_id!r} not found; import errors: {json.dumps(errors, indent=2) if errors else 'none'}",
                file=sys.stderr,
                flush=True,
            )
            state = "missing"
        else:
            try:
                run_id, state = run_dag(dags[dag_id])
            except Exception:  # noqa: BLE001 - Airflow itself failed on this run: report it, go on with the next
                traceback.print_exc()
        failed += state != DagRunState.SUCCESS.value
        report(
            "end",
            index=n,
            dag_id=dag_id,
            run_id=run_id,
            state=state,
            seconds=round(time.perf_counter() - t0, 3),
        )
    if out is not None:
        out.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
