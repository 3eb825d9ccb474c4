"""Shared wiring of the yiwang airflow DAGs: the Assets that connect them and the default task arguments.

Not a DAG file (it defines no DAG); the DAG files in this folder import it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Asset

from yiwang.settings import SYSTEMS

OWNER = "yiwang"

# DuckDB allows one writing process per file: a load that meets a running dbt (or another load) fails on the
# file lock and is retried a few minutes later. For the embedded profile also run Airflow with one slot in
# its default pool (AIRFLOW__CORE__DEFAULT_POOL_TASK_SLOT_COUNT=1 before `airflow db migrate`).
DEFAULT_ARGS: dict[str, Any] = {
    "owner": OWNER,
    "retries": 2,
    "retry_delay": timedelta(minutes=3),
    "retry_exponential_backoff": True,
}


def raw_asset(system: str) -> Asset:
    """The raw landing of one system (``raw_<system>.*``), updated by its extract DAG."""
    return Asset(name=f"yiwang_raw_{system}", uri=f"yiwang://raw/{system}", group="yiwang_raw")


RAW_ASSETS: dict[str, Asset] = {s: raw_asset(s) for s in SYSTEMS}
REFERENCE_ASSET = Asset(name="yiwang_raw_reference", uri="yiwang://raw/reference", group="yiwang_raw")
MARTS_ASSET = Asset(name="yiwang_marts", uri="yiwang://marts/published", group="yiwang_marts")
