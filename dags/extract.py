"""One airflow DAG per department system: land the city's reference data, then extract the system.

``yiwang_extract_<system>`` calls ``connectors.run`` and nothing else; its extract task updates the Asset
``yiwang://raw/<system>``, which (for all six systems) schedules ``yiwang_build``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pendulum
from airflow.sdk import DAG, dag, task
from yiwang_assets import DEFAULT_ARGS, RAW_ASSETS, REFERENCE_ASSET

from yiwang.settings import SYSTEMS

# Staggered so that the embedded DuckDB warehouse rarely sees two writers at once. API systems change
# during the day (hourly); SQL systems and file drops are pulled daily.
SCHEDULES: dict[str, str] = {
    "party": "5 1 * * *",
    "grid": "15 1 * * *",
    "approval": "25 * * * *",
    "services": "35 * * * *",
    "property": "45 1 * * *",
    "hotline": "55 1 * * *",
}


# Every extract DAG lands the reference first; on a cluster several run at once and meet on the reference lock.
# The holder lands the same files, so the others wait for it (then find them unchanged) instead of failing
# into a retry minutes later.
REFERENCE_LOCK_WAIT_S = 600


def _waiting_for_lock(load: Callable[[], Any], timeout_s: float = REFERENCE_LOCK_WAIT_S) -> Any:
    from connectors.lock import LockHeld

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return load()
        except LockHeld:
            if time.monotonic() >= deadline:
                raise
            time.sleep(1)


def _summary(entries: list) -> dict[str, int]:
    return {
        "tables": len(entries),
        "rows_read": sum(e.rows_read for e in entries),
        "rows_new": sum(e.rows_new for e in entries),
        "rows_quarantined": sum(e.rows_quarantined for e in entries),
    }


def make_extract_dag(system: str) -> DAG:
    @dag(
        dag_id=f"yiwang_extract_{system}",
        description=f"extract the {system} system into raw_{system}.*",
        schedule=SCHEDULES[system],
        start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["yiwang", "extract", system],
    )
    def extract_dag() -> None:
        @task(task_id="load_reference", outlets=[REFERENCE_ASSET])
        def load_reference() -> dict[str, int]:
            from connectors.run import extract_reference

            return _summary(_waiting_for_lock(extract_reference))

        @task(task_id=f"extract_{system}", outlets=[RAW_ASSETS[system]])
        def extract() -> dict[str, int]:
            from connectors.run import extract_system

            return _summary(extract_system(system))

        load_reference() >> extract()

    return extract_dag()


for _system in SYSTEMS:
    globals()[f"yiwang_extract_{_system}"] = make_extract_dag(_system)
