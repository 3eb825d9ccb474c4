"""A day's incremental build equals a full rebuild of the same data.

From the small demo city (built and published), one day of changes arrives in every system
(``simulator.increment.simulate_increment``: new and updated records) and is extracted. Two copies of that home
then build and publish: one as a daily run does, the staging tables recomputing only the
keys whose raw rows or rejects changed (dbt_project/macros/staging_incremental.sql), the other with the staging
state forgotten, so every staging table is rebuilt from all raw rows. Every table the build writes (staging,
intermediate, identity, the published marts and the API's lookup tables) must hold the same rows in both, resident
keys included.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from simulator.increment import simulate_increment

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
YIWANG = Path(sys.executable).parent / "yiwang"

# Tables the build writes. Raw and ops are what the extract landed and the same in both by construction.
BUILT = (
    "table_schema in ('staging', 'intermediate', 'identity', 'serving') or table_schema like 'int\\_%' escape '\\' "
    "or table_schema like 'identity\\_%' escape '\\' or (table_schema like 'mart\\_%' escape '\\' "
    "and table_schema not like '%\\_\\_build' escape '\\')"
)
# Columns that record when a build ran, not what it computed.
BUILD_TIME_COLUMNS = {"first_keyed_at", "keyed_at", "recorded_at", "matched_at"}


def digests(warehouse: Path) -> dict[str, str]:
    """Per built table: row count and sha256 over the sorted rows (build-time columns left out)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = con.execute(
            f"select table_schema, table_name from information_schema.tables where {BUILT} order by 1, 2"
        ).fetchall()
        out: dict[str, str] = {}
        for schema, table in tables:
            cols = [
                c
                for (c,) in con.execute(
                    "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                    "order by ordinal_position",
                    [schema, table],
                ).fetchall()
                if c not in BUILD_TIME_COLUMNS
            ]
            select = ", ".join(f'"{c}"' for c in cols)
            rows = sorted(
                repr(r) for r in con.execute(f'select {select} from "{schema}"."{table}"').fetchall()
            )
            out[f"{schema}.{table}"] = (
                f"{len(rows)}:" + hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]
            )
        return out
    finally:
        con.close()


# the day's changes landed as the extract DAGs land them (the simulated department APIs served on loopback)
_EXTRACT = "from yiwang.demo import extract_simulated_sources; extract_simulated_sources()"


def _run(home: Path, demo_env: dict[str, str], *args: str) -> None:
    env = {
        **demo_env,
        "YIWANG_HOME": str(home),
        "YIWANG_DUCKDB_PATH": str(home / "warehouse.duckdb"),
        "DBT_TARGET_PATH": str(home / "dbt_target"),
        "DBT_LOG_PATH": str(home / "dbt_logs"),
    }
    result = subprocess.run(
        args, env=env, cwd=REPO, capture_output=True, text=True, timeout=1500, check=False
    )
    tail = "\n".join((result.stdout + result.stderr).splitlines()[-60:])
    assert result.returncode == 0, f"{' '.join(args[:3])} failed in {home}:\n{tail}"


def _staging_sql(home: Path, model: str) -> str:
    run = json.loads((home / "dbt_target" / "run_results.json").read_text())
    (code,) = [r["compiled_code"] for r in run["results"] if r["unique_id"] == f"model.yiwang.{model}"]
    return code


def test_incremental_build_equals_full_rebuild(small_demo: Any, tmp_path: Path) -> None:
    before = digests(small_demo.warehouse)
    incremental, full = tmp_path / "incremental", tmp_path / "full"
    shutil.copytree(small_demo.home, incremental, ignore=shutil.ignore_patterns("logs", "airflow"))
    changes = simulate_increment(incremental / "sources", seed=7, fraction=0.01)
    assert changes, "the simulated day changed nothing"
    _run(incremental, small_demo.env, sys.executable, "-c", _EXTRACT)
    shutil.copytree(incremental, full)  # the same raw rows, batch ids and load times in both
    con = duckdb.connect(str(full / "warehouse.duckdb"))
    try:
        con.execute("drop schema staging_state cascade")  # the full copy rebuilds every staging table
    finally:
        con.close()

    for home in (incremental, full):
        _run(home, small_demo.env, str(YIWANG), "build")

    # the daily run recomputed changed keys only; the other rebuilt from all raw rows
    assert "changed_key" in _staging_sql(incremental, "stg_grid__events")
    assert "changed_key" not in _staging_sql(full, "stg_grid__events")

    after_incremental, after_full = (
        digests(incremental / "warehouse.duckdb"),
        digests(full / "warehouse.duckdb"),
    )
    assert set(after_incremental) == set(after_full)
    differ = sorted(t for t in after_full if after_incremental[t] != after_full[t])
    assert not differ, f"incremental build differs from a full rebuild in {differ}"
    # and the day did change what was built
    changed = sorted(t for t in after_full if before.get(t) != after_full[t])
    assert any(t.startswith("staging.") for t in changed) and any(t.startswith("mart_") for t in changed), (
        changed
    )
