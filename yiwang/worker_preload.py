"""Imported by each Celery worker of `yiwang cluster` before it forks its pool (Celery's ``imports`` setting,
:data:`yiwang.cluster.CELERY_CONFIG`): the libraries every yiwang task loads, so that the process each task runs
in (forked from the pool) finds them loaded instead of importing dbt and cosmos again (~8 s of CPU per dbt
task on a loaded 2-core machine). Great Expectations is left out: only the gate tasks use it and it costs more
to load in every worker than it saves there."""

from __future__ import annotations

import importlib

PRELOAD = (
    "airflow.sdk",
    "cosmos",
    "cosmos.operators.local",
    "dbt.cli.main",
    "dbt.adapters.postgres",
    "dbt.adapters.duckdb",
    "yiwang.dbt_runner",
    "yiwang.publish",
    "connectors.run",
)

for _name in PRELOAD:
    importlib.import_module(_name)
