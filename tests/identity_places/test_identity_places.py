"""Places, estates, organisations and demands (issue #3 part B), end to end on the small scale.

A `small` city is simulated and extracted once into a temporary YIWANG_HOME (DuckDB); only the
identity models of this part (and the staging views under them) are built with dbt, their data
and unit tests run, and the identity tables are scored against the simulator's truth. The same
models are then built on PostgreSQL (skipped without a server, except under CI=true).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import scoring  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DBT_DIR = REPO / "dbt_project"
MARTS = ["grid_xref", "estate_xref", "org_xref", "demand_xref", "dim_grid", "dim_estate", "dim_org", "dim_demand"]
RUN_SELECT = [f"+{m}" for m in MARTS]
TEST_SELECT = ["path:models/intermediate/identity/places", "path:models/intermediate/identity/orgs",
               "path:models/intermediate/identity/demands", "path:models/marts/identity_places"]
PLACE_TABLES = {("party", "dj_org"), ("party", "dj_bd"), ("party", "dj_fwjl"), ("party", "dj_dy"),
                ("grid", "wg_grid"), ("grid", "wg_wgy"), ("grid", "wg_syrk"), ("grid", "wg_sj"),
                ("property", "estates"), ("property", "owners"), ("property", "complaints"),
                ("services", "sites"), ("services", "orders"), ("hotline", "tickets"), ("approval", "cases")}


def _run(args: list[str], env: dict[str, str]) -> str:
    proc = subprocess.run(args, env=env, cwd=REPO, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}")
    return proc.stdout


def _dbt(env: dict[str, str], *args: str) -> str:
    return _run([str(BIN / "dbt"), *args, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR)], env)


def _build(env: dict[str, str], target: str) -> None:
    _dbt(env, "run", "--target", target, "-s", *RUN_SELECT)
    _dbt(env, "test", "--target", target, "-s", *TEST_SELECT)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A simulated, extracted small city (DuckDB) and the env to build it; the API server stays up."""
    from simulator import http_api

    home = tmp_path_factory.mktemp("identity_places")
    env = {**os.environ, "YIWANG_HOME": str(home), "YIWANG_DUCKDB_PATH": str(home / "warehouse.duckdb"),
           "DBT_TARGET_PATH": str(home / "dbt_target"), "DBT_LOG_PATH": str(home / "dbt_logs"),
           "YIWANG_HMAC_KEY": os.environ.get("YIWANG_HMAC_KEY", "yiwang-test-key"),
           "YIWANG_APPROVAL_TOKEN": "test-approval-token", "YIWANG_SERVICES_API_KEY": "test-services-key"}
    env.pop("YIWANG_WAREHOUSE_URL", None)
    _run([str(BIN / "yiwang"), "simulate", "--scale", "small"], env)
    server = http_api.serve_in_thread(home / "sources", host="127.0.0.1", port=0,
                                      approval_token=env["YIWANG_APPROVAL_TOKEN"],
                                      services_api_key=env["YIWANG_SERVICES_API_KEY"])
    env["YIWANG_APPROVAL_URL"] = f"{server.url}/approval"
    env["YIWANG_SERVICES_URL"] = f"{server.url}/services"
    try:
        _run([str(BIN / "yiwang"), "extract"], env)
        _build(env, "duckdb")
        yield {"home": home, "env": env}
    finally:
        server.stop()


@pytest.fixture(scope="module")
def scores(city: dict) -> dict:
    return scoring.score_duckdb(city["home"])


def test_grid_accuracy(scores: dict) -> None:
    assert scores["grid"]["grid_accuracy"] >= 0.98, scores["grid"]
    assert scores["grid"]["grid_precision_resolved"] >= 0.99, scores["grid"]


def test_estate_accuracy(scores: dict) -> None:
    assert scores["estate"]["accuracy"] >= 0.97, scores["estate"]
    assert scores["estate"]["pair_f1"] >= 0.97, scores["estate"]


def test_org_accuracy(scores: dict) -> None:
    assert scores["org"]["accuracy_uscc"] >= 0.98, scores["org"]
    assert scores["org"]["pair_f1"] >= 0.98, scores["org"]


def test_demand_pairwise_f1(scores: dict) -> None:
    assert scores["demand"]["demand_missing"] == 0, scores["demand"]
    assert scores["demand"]["f1"] >= 0.9, scores["demand"]


def test_every_place_bearing_record_has_one_grid_xref_row(city: dict) -> None:
    import duckdb

    truth = scoring.load_truth(city["home"])
    con = duckdb.connect(str(city["home"] / "warehouse.duckdb"), read_only=True)
    try:
        xref = con.execute("select source_system, source_table, source_key from identity.grid_xref").df()
    finally:
        con.close()
    assert not xref.duplicated().any()
    place = truth[truth["grid_code"].notna()]
    place = place[[(s, t) in PLACE_TABLES for s, t in zip(place["source_system"], place["source_table"], strict=True)]]
    keys = set(map(tuple, xref.to_numpy().tolist()))
    missing = [k for k in map(tuple, place[scoring.KEYS].to_numpy().tolist()) if k not in keys]
    # a service order without an address whose customer is in no register has no evidence at all
    assert len(missing) <= 0.01 * len(place), missing[:20]


def test_same_models_on_postgres(city: dict, pg_url: str) -> None:
    import pandas as pd
    import sqlalchemy as sa

    url = sa.engine.make_url(pg_url)
    env = {**city["env"], "YIWANG_WAREHOUSE_URL": pg_url,
           "YIWANG_PG_HOST": url.host or "127.0.0.1", "YIWANG_PG_PORT": str(url.port or 5432),
           "YIWANG_PG_USER": url.username or "postgres", "YIWANG_PG_PASSWORD": url.password or "",
           "YIWANG_PG_DBNAME": url.database,
           "DBT_TARGET_PATH": str(city["home"] / "dbt_target_pg"), "DBT_LOG_PATH": str(city["home"] / "dbt_logs_pg")}
    _run([str(BIN / "yiwang"), "extract"], env)
    _build(env, "postgres")
    engine = sa.create_engine(pg_url)
    try:
        tables = {n: pd.read_sql(f"select * from identity.{n}", engine)
                  for n in ("grid_xref", "estate_xref", "org_xref", "dim_org", "demand_xref")}
    finally:
        engine.dispose()
    pg = scoring.score_frames(scoring.load_truth(city["home"]), tables)
    assert pg["grid"]["grid_accuracy"] >= 0.98, pg["grid"]
    assert pg["estate"]["accuracy"] >= 0.97, pg["estate"]
    assert pg["org"]["accuracy_uscc"] >= 0.98, pg["org"]
    assert pg["demand"]["f1"] >= 0.9, pg["demand"]
