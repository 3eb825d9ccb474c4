"""Several DAG runs in one Airflow process (yiwang.airflow_runs, as yiwang.demo runs its DAGs) on tiny DAGs: a run
that fails (or a DAG that is missing) makes the whole fail and names the log, the runs after it still run, every run and task is recorded in
Airflow's metadata DB with its state, and a task's change to the environment does not reach the next run."""

from __future__ import annotations

import io
import os
import sqlite3
from pathlib import Path

import pytest
from rich.console import Console

from yiwang.demo import run_dags_in_airflow

pytestmark = pytest.mark.integration

TINY_DAGS = """\
import os

import pendulum
from airflow.sdk import dag, task


def make(dag_id, *, fail=False, leak=False):
    @dag(dag_id=dag_id, schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False,
         default_args={"retries": 0})
    def tiny():
        @task
        def first():
            if os.environ.get("TINY_LEAKED"):
                raise RuntimeError("an earlier run's environment reached this run")
            if leak:
                os.environ["TINY_LEAKED"] = dag_id
            return 1

        @task
        def second(x):
            if fail:
                raise RuntimeError("tiny_fails fails on purpose")
            return x + 1

        second(first())

    return tiny()


ok_before = make("tiny_ok_before", leak=True)
fails = make("tiny_fails", fail=True)
ok_after = make("tiny_ok_after")
"""

DAG_IDS = ["tiny_ok_before", "tiny_fails", "no_such_dag", "tiny_ok_after"]


def _airflow_env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        AIRFLOW_HOME=str(root / "home"),
        AIRFLOW__CORE__DAGS_FOLDER=str(root / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{root / 'airflow.db'}",
        AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
    )
    return env


def test_failed_run_fails_the_whole_and_every_run_is_recorded(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "tiny_dags.py").write_text(TINY_DAGS, encoding="utf-8")
    # mentions airflow and dag, so the DagBag's safe mode parses it
    broken = "from airflow.sdk import dag\n\nraise ValueError('broken on purpose')\n"
    (tmp_path / "dags" / "broken.py").write_text(broken, encoding="utf-8")
    console = Console(file=io.StringIO(), width=200)
    log = tmp_path / "airflow.log"

    result = run_dags_in_airflow(
        console, _airflow_env(tmp_path), log, DAG_IDS, [f"{d} (label)" for d in DAG_IDS], migrate=True
    )

    out = console.file.getvalue()
    text = log.read_text(encoding="utf-8")
    assert result.migrated, text[-4000:]
    assert result.states == {
        "tiny_ok_before": "success",
        "tiny_fails": "failed",
        "no_such_dag": "missing",  # not defined, or its file failed to parse: a failed run, never skipped
        "tiny_ok_after": "success",
    }, text[-4000:]
    assert not result.ok and result.returncode == 1
    assert "tiny_ok_before (label): ok" in out and "tiny_ok_after (label): ok" in out
    assert "tiny_fails (label): failed" in out and "no_such_dag (label): missing" in out
    assert f"see {log}" in out.replace("\n", "")
    assert "tiny_fails fails on purpose" in text
    assert "broken.py" in text  # the import errors named where a DAG is missing

    con = sqlite3.connect(tmp_path / "airflow.db")
    try:
        runs = con.execute("select dag_id, state, run_type from dag_run").fetchall()
        tasks = con.execute("select dag_id, task_id, state from task_instance").fetchall()
    finally:
        con.close()
    assert sorted(runs) == [
        ("tiny_fails", "failed", "manual"),
        ("tiny_ok_after", "success", "manual"),
        ("tiny_ok_before", "success", "manual"),
    ]
    assert sorted(tasks) == [
        ("tiny_fails", "first", "success"),
        ("tiny_fails", "second", "failed"),
        ("tiny_ok_after", "first", "success"),
        ("tiny_ok_after", "second", "success"),
        ("tiny_ok_before", "first", "success"),
        ("tiny_ok_before", "second", "success"),
    ]
