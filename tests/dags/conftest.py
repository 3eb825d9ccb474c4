"""Fixtures for the DAG tests: an isolated Airflow home, the DagBag, a tiny dbt project and warehouse.

Airflow reads its configuration when first imported, so the environment is set here, before any test
module imports airflow: a throwaway AIRFLOW_HOME (never the developer's), no example DAGs, dags/ as folder.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DAGS_DIR = REPO / "dags"
AIRFLOW = str(Path(sys.executable).parent / "airflow")

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="yiwang-airflow-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(_AIRFLOW_HOME),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}",
        "GX_ANALYTICS_ENABLED": "false",
    }
)
if str(DAGS_DIR) not in sys.path:  # as Airflow's bundle DagBag does, so tests can import the factories
    sys.path.append(str(DAGS_DIR))


@pytest.fixture(scope="session")
def dagbag() -> Any:
    from airflow.dag_processing.dagbag import BundleDagBag

    return BundleDagBag(dag_folder=DAGS_DIR, bundle_path=DAGS_DIR)


TINY_PROFILES = """\
yiwang:
  target: duckdb
  outputs:
    duckdb:
      type: duckdb
      path: "{{ env_var('YIWANG_DUCKDB_PATH', 'tiny.duckdb') }}"
      threads: 1
"""

TINY_MODELS = {
    # the real project's macro: marts go to mart_<x>__build while the build DAG runs, publish swaps them in
    "macros/generate_schema_name.sql": (
        REPO / "dbt_project" / "macros" / "generate_schema_name.sql"
    ).read_text(),
    "models/staging/stg_demo__items.sql": """\
select 'XK' || lpad(cast(i as varchar), 5, '0') || '001' as item_code, 'government' as item_kind, 20 as lim
from range({{ var('government_items', 132) }}) t(i)
union all
select 'FW' || lpad(cast(i as varchar), 6, '0'), 'life', cast(null as integer)
from range({{ var('life_items', 526) }}) t(i)
""",
    "models/marts/service_catalog.sql": """\
select item_code, item_kind, lim as statutory_limit_days, lim / 2 as promised_limit_days,
       cast(null as integer) as max_visits, cast(null as integer) as site_count
from {{ ref('stg_demo__items') }}
""",
    "models/schema.yml": """\
version: 2
models:
  - name: service_catalog
    columns:
      - name: item_code
        data_tests: [unique, not_null]
""",
}


def write_tiny_project(root: Path, *, life_items: int = 526, broken_sql: bool = False) -> Path:
    """A 2-model dbt project shaped like the real one (profile yiwang, staging → mart_catalog)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text(f"""\
name: tiny
version: "0.1.0"
config-version: 2
profile: yiwang
vars: {{life_items: {life_items}}}
models:
  tiny:
    staging: {{+materialized: view, +schema: staging}}
    marts: {{+materialized: table, +schema: mart_catalog}}
""")
    (root / "profiles.yml").write_text(TINY_PROFILES)
    for rel, text in TINY_MODELS.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text.replace("from range", "frm range") if broken_sql and "stg_demo" in rel else text)
    return root


@pytest.fixture
def tiny_project(tmp_path: Path) -> Path:
    return write_tiny_project(tmp_path / "tiny_dbt")


@pytest.fixture
def make_tiny_project(tmp_path: Path) -> Callable[..., Path]:
    """``make_tiny_project("name", life_items=525, broken_sql=True)`` → a variant under tmp_path."""
    return lambda name, **kw: write_tiny_project(tmp_path / name, **kw)


@pytest.fixture
def tiny_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """YIWANG_HOME + a DuckDB warehouse under tmp_path with every gated raw table present (valid rows)."""
    import duckdb

    from expectations.suites import RAW_SUITES
    from yiwang.contracts import load_contract
    from yiwang.settings import get_settings

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("YIWANG_HOME", str(home))
    monkeypatch.setenv("YIWANG_WAREHOUSE_URL", f"duckdb:///{home / 'warehouse.duckdb'}")
    get_settings.cache_clear()
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    for spec in RAW_SUITES:
        cols = load_contract().table(spec.schema.removeprefix("raw_"), spec.table).columns
        con.execute(f"create schema if not exists {spec.schema}")
        con.execute(f"create table {spec.relation} ({', '.join(f'{c} varchar' for c in cols)})")
    # the mart gate reconciles the catalog with raw: 132 government items, 526 life items
    con.execute(
        "insert into raw_approval.items (sxbm, ssbm, sxmc, sxlx, xscj, fdsx, cnsx, bjlx, wbsd, dxcs, "
        "\"updatedAt\") select 'XK' || lpad(cast(i as varchar), 5, '0') || '001', 'S' || i, '事项' || i, "
        "'行政许可', '市级', '20', '10', '承诺件', '全程网办', '1', '2026-10-01T08:00:00+08:00' "
        "from range(132) t(i)"
    )
    con.execute(
        'insert into raw_services.life_items (fwbm, fwmc, fwlb, gysmc, sfzxyy, "updatedAt") '
        "select 'FW' || lpad(cast(i as varchar), 6, '0'), '服务' || i, '养老', '某公司', 'true', "
        "'2026-10-01 08:00:00' from range(526) t(i)"
    )
    con.execute("""insert into raw_grid.wg_syrk (rkid, xm, sfzh, wgbm, jzlx, sfsc, update_time) values
        ('RK1', '张三', '42010619800101001X', '420106001001001', '户籍', '0', '2026-10-01 08:00:00'),
        ('RK2', '李四', '420106800101123', '420106001001002', '流动', '1', '2026-10-02 08:00:00')""")
    # the grids the residents live in: the raw gate checks references against the current delivery
    con.execute(
        "insert into raw_grid.wg_grid (wgbm, wgmc, update_time) values "
        "('420106001001001', '第1网格', '2026-10-01 08:00:00'), "
        "('420106001001002', '第2网格', '2026-10-01 08:00:00')"
    )
    con.close()
    yield get_settings()
    get_settings.cache_clear()


TINY_DAGS = """\
# airflow DAG file for the tests: the build DAG factory pointed at tiny dbt projects
import sys
from pathlib import Path

sys.path.insert(0, {dags_dir!r})
from build import make_build_dag  # noqa: E402

ok = make_build_dag("tiny_build_ok", Path({ok!r}), schedule=None)
short = make_build_dag("tiny_build_short", Path({short!r}), schedule=None)
"""


@dataclass
class AirflowCli:
    """``airflow dags test`` in a subprocess with its own AIRFLOW_HOME (SQLite) and a DAG folder of tiny DAGs."""

    env: dict[str, str]
    db: Path

    def dags_test(self, dag_id: str, yiwang_home: Path) -> tuple[subprocess.CompletedProcess[str], float]:
        env = {k: v for k, v in self.env.items() if not k.startswith("YIWANG_")}
        env.update(
            YIWANG_HOME=str(yiwang_home), YIWANG_WAREHOUSE_URL=f"duckdb:///{yiwang_home / 'warehouse.duckdb'}"
        )
        started = time.perf_counter()
        out = subprocess.run(
            [AIRFLOW, "dags", "test", dag_id],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        return out, time.perf_counter() - started

    def task_states(self, dag_id: str) -> dict[str, str]:
        con = sqlite3.connect(self.db)
        try:
            rows = con.execute(
                "select task_id, state from task_instance where dag_id = ?", [dag_id]
            ).fetchall()
        finally:
            con.close()
        return dict(rows)


@pytest.fixture(scope="session")
def airflow_cli(tmp_path_factory: pytest.TempPathFactory) -> AirflowCli:
    from yiwang.dbt_runner import ensure_manifest

    root = tmp_path_factory.mktemp("airflow_cli")
    ok = write_tiny_project(root / "tiny_ok")
    ensure_manifest(ok)  # rendered per model by cosmos
    short = write_tiny_project(root / "tiny_short", life_items=525)  # no manifest: one dbt_build task
    dags = root / "dags"
    dags.mkdir()
    (dags / "tiny_builds.py").write_text(
        TINY_DAGS.format(dags_dir=str(DAGS_DIR), ok=str(ok), short=str(short))
    )
    db = root / "airflow.db"
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(root / "home"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{db}",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
    )
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    return AirflowCli(env, db)
