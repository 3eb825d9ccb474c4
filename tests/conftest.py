"""Fixtures every test folder may use: real servers (PostgreSQL, MariaDB) with a throwaway database each, and
the `small` demo city shared by the whole session.

A test that needs a server skips with the reason when the server is absent, except under CI=true, where an
absent server is a failure (CI starts the services first).

`small_demo` runs the README's main job (`yiwang demo --scale small`, through Airflow) ONCE per session into a
tmp YIWANG_HOME; `small_pg` extracts the same sources into ONE fresh PostgreSQL database and builds the whole
dbt project there (`yiwang build`: raw gate, dbt build, mart gate, publish). Tests read both and must not
change them; a test that reruns something on the shared home must be idempotent by design and carry the
`mutates_small_demo` marker, which moves it to the end of the session.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import yiwang  # noqa: F401  - first: switches off the tools' usage analytics before they load

if os.environ.get("PYTEST_XDIST_WORKER"):
    # two workers must not share dbt's target path (partial-parse state, manifest) or the default YIWANG_HOME;
    # the target path stays relative, so each dbt project (the repo's, the DAG tests' tiny ones) keeps its own
    # under <project>/target/<worker>; tests that need their own paths still set them
    _worker = os.environ["PYTEST_XDIST_WORKER"]
    _worker_tmp = Path(tempfile.mkdtemp(prefix=f"yiwang-{_worker}-"))
    os.environ.setdefault("DBT_TARGET_PATH", f"target/{_worker}")
    os.environ.setdefault("DBT_LOG_PATH", str(_worker_tmp / "dbt_logs"))
    os.environ.setdefault("YIWANG_HOME", str(_worker_tmp / "home"))

PG_ADMIN_URL = os.environ.get("YIWANG_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
MARIADB_ADMIN_URL = os.environ.get("YIWANG_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")


@pytest.fixture(autouse=True)
def _hmac_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pseudonyms need a key from the environment; tests use a throwaway one unless one is set."""
    if not os.environ.get("YIWANG_HMAC_KEY"):
        monkeypatch.setenv("YIWANG_HMAC_KEY", "yiwang-test-key")


def server_missing(what: str, error: Exception) -> None:
    """Skip (laptop) or fail (CI) because a server the test needs is not reachable."""
    msg = f"{what} is not reachable ({type(error).__name__}: {error})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{msg}; under CI=true every server must be up", pytrace=False)
    pytest.skip(msg)


def _admin_engine(url: str, what: str):  # noqa: ANN202
    import sqlalchemy as sa

    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    try:
        with engine.connect() as c:
            c.execute(sa.text("select 1"))
    except Exception as e:  # noqa: BLE001 - any failure to connect means "absent"
        engine.dispose()
        server_missing(what, e)
    return engine


def _fresh_pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped when the generator closes. Yields its SQLAlchemy URL."""
    import sqlalchemy as sa

    engine = _admin_engine(PG_ADMIN_URL, "PostgreSQL at 127.0.0.1:5432")
    name = f"yiwang_test_{uuid.uuid4().hex[:10]}"
    with engine.connect() as c:
        c.execute(sa.text(f'create database "{name}"'))
    try:
        yield sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as c:
            c.execute(sa.text(f'drop database if exists "{name}" with (force)'))
        engine.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database; dropped afterwards. Yields its SQLAlchemy URL."""
    yield from _fresh_pg_database()


@pytest.fixture
def pg_databases() -> Iterator[Callable[[], str]]:
    """Fresh, empty PostgreSQL databases, one per call (SQLAlchemy URL); all dropped afterwards."""
    made: list[Iterator[str]] = []

    def make() -> str:
        made.append(_fresh_pg_database())
        return next(made[-1])

    yield make
    for gen in made:
        gen.close()  # type: ignore[attr-defined]


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """A fresh, empty MariaDB database; dropped afterwards. Yields its SQLAlchemy URL."""
    import sqlalchemy as sa

    engine = _admin_engine(MARIADB_ADMIN_URL, "MariaDB at 127.0.0.1:3306")
    name = f"yiwang_test_{uuid.uuid4().hex[:10]}"
    with engine.connect() as c:
        c.execute(sa.text(f"create database `{name}` character set utf8mb4"))
    try:
        yield sa.engine.make_url(MARIADB_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as c:
            c.execute(sa.text(f"drop database if exists `{name}`"))
        engine.dispose()


@pytest.fixture
def redis_db() -> Iterator[int]:
    """An empty database number on Redis at 127.0.0.1:6379 (other runs may share the server), flushed afterwards."""
    import redis

    try:
        free = [db for db in range(15, 0, -1) if not redis.Redis(port=6379, db=db, socket_timeout=3).dbsize()]
    except redis.RedisError as e:
        server_missing("Redis at 127.0.0.1:6379", e)
    if not free:
        server_missing("an empty Redis database", RuntimeError("databases 1-15 all hold keys"))
    yield free[0]
    redis.Redis(port=6379, db=free[0], socket_timeout=3).flushdb()


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path) -> str:  # noqa: ANN001
    """Each warehouse in turn: a DuckDB file, then a fresh PostgreSQL database."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    return request.getfixturevalue("pg_url")


# -- the shared small city ---------------------------------------------------------------------------------
REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MUTATES_SMALL_DEMO = "mutates_small_demo"
# pytest-xdist groups: tests that use one of these costly session fixtures run together on one worker, which
# builds the fixture once (tiny, cheap session fixtures may be built once per worker and bind nothing)
SHARED_FIXTURE_GROUPS = {
    "small_demo": "small_city",  # the README's main job through Airflow (minutes)
    "small_pg": "small_city",  # the same sources built on PostgreSQL (reads small_demo)
    "small_out": "simulated_small",  # tests/simulator: the small city simulated once
    "clean_out": "simulated_small",
    "api_server": "simulated_small",
}
# What the shared city's runs must not inherit from the caller's environment.
_FOREIGN_VARS = (
    "YIWANG_WAREHOUSE_URL",
    "YIWANG_SOURCES",
    "YIWANG_APPROVAL_URL",
    "YIWANG_SERVICES_URL",
    "YIWANG_BUILD_SCHEMA_SUFFIX",
    "YIWANG_DUCKDB_PATH",
    "YIWANG_REFERENCE_DIR",
    "YIWANG_PARTY_URL",
    "YIWANG_GRID_URL",
    "YIWANG_PROPERTY_DIR",
    "YIWANG_HOTLINE_DIR",
    "DBT_TARGET_PATH",
    "DBT_LOG_PATH",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MUTATES_SMALL_DEMO}: reruns a job on the shared small city (idempotent "
        "by design); runs after every other test",
    )


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the xdist_group marks
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    """Tests that rerun a job on the shared `small_demo` home go last, so no read-only test sees a rerun.

    Under pytest-xdist (`--dist loadgroup`, as scripts/test runs the suite) each worker builds its own session
    and module fixtures, so tests are handed out in groups that share them: everything that reads the small
    city (`small_demo`, `small_pg`) is one group, on one worker, in this order, and so on for the costly session
    fixtures of SHARED_FIXTURE_GROUPS; a module marked `xdist_group(name)` joins that group (the serving tests
    share one published tiny city); every other test module is a group of its own (its module-scoped fixtures
    are built once)."""
    last = [i for i in items if i.get_closest_marker(MUTATES_SMALL_DEMO)]
    if last:
        items[:] = [i for i in items if not i.get_closest_marker(MUTATES_SMALL_DEMO)] + last
    if not getattr(
        config.option, "loadgroup", False
    ):  # pytest-xdist sets it in workers under --dist loadgroup
        return
    for item in items:
        shared = sorted(
            {
                SHARED_FIXTURE_GROUPS[f]
                for f in getattr(item, "fixturenames", ())
                if f in SHARED_FIXTURE_GROUPS
            }
        )
        marked = sorted({str(m.args[0]) for m in item.iter_markers("xdist_group") if m.args})
        _join_group(item, (shared or marked or [item.nodeid.split("::", 1)[0]])[0])


def _join_group(item: pytest.Item, group: str) -> None:
    """What pytest-xdist does for an `xdist_group` mark: the node id gets the suffix `@<group>`, which its
    loadgroup scheduler groups by. xdist 3.8 writes `item._nodeid`, which pytest 9 no longer reads (the id is a
    structured `_id`), so the suffix is set here on whichever the running pytest has."""
    nodeid = f"{item.nodeid}@{group}"
    if hasattr(item, "_id"):
        from _pytest.nodes import NodeId

        item._id = NodeId.parse(nodeid)
    else:
        item._nodeid = nodeid


def _tail(text: str, lines: int = 80) -> str:
    return "\n".join(text.splitlines()[-lines:])


@dataclass(frozen=True)
class SmallDemo:
    """The README's main job at `small` scale: read-only for tests (open DuckDB with read_only=True)."""

    home: Path
    env: dict[str, str]  # YIWANG_HOME, secrets, private dbt paths: the env the demo ran with
    stdout: str
    stderr: str

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def sources(self) -> Path:
        return self.home / "sources"

    def rerun_demo(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The main job again on this home. With its own dbt target/log paths: dbt's partial-parse state in
        the first run's target path records the seeds under cosmos's temporary copy of the project, which is
        gone by now, so a rerun sharing that target path fails to load the seeds (not the job's behaviour)."""
        env = {
            **self.env,
            "DBT_TARGET_PATH": str(self.home / "dbt_target_rerun"),
            "DBT_LOG_PATH": str(self.home / "dbt_logs_rerun"),
        }
        return run_small_demo(env, *args)


def small_demo_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _FOREIGN_VARS}
    env.update(
        YIWANG_HOME=str(home),
        YIWANG_DUCKDB_PATH=str(home / "warehouse.duckdb"),
        YIWANG_HMAC_KEY=os.environ.get("YIWANG_HMAC_KEY") or "yiwang-test-key",
        YIWANG_APPROVAL_TOKEN="small-demo-approval-token",
        YIWANG_SERVICES_API_KEY="small-demo-services-key",
        DBT_TARGET_PATH=str(home / "dbt_target"),
        DBT_LOG_PATH=str(home / "dbt_logs"),
        COLUMNS="200",
    )
    return env


def run_small_demo(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`yiwang demo --scale small` (through Airflow), as the README's main job runs it."""
    return subprocess.run(
        [str(BIN / "yiwang"), "demo", "--scale", "small", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> SmallDemo:
    """The small demo city (seed 42), built once per session by the README's main job into a tmp YIWANG_HOME."""
    home = tmp_path_factory.mktemp("small_demo")
    env = small_demo_env(home)
    result = run_small_demo(env)
    assert result.returncode == 0, f"yiwang demo failed:\n{_tail(result.stdout)}\n{_tail(result.stderr)}"
    return SmallDemo(home=home, env=env, stdout=result.stdout, stderr=result.stderr)


@dataclass(frozen=True)
class SmallPg:
    """The small demo's sources extracted into one PostgreSQL database, whole dbt project built and published."""

    url: str
    home: Path  # its own YIWANG_HOME (gx, logs, dbt target); `sources` links to the small demo's
    env: dict[str, str]  # env for yiwang / dbt against this database (YIWANG_WAREHOUSE_URL, YIWANG_PG_*)


_PG_BUILD = r"""
from yiwang.demo import extract_simulated_sources
from yiwang.publish import build_and_publish

extract_simulated_sources()
build_and_publish(target="postgres", docs=False, on_step=lambda step, detail: print(f"{step}: {detail}"))
"""


@pytest.fixture(scope="session")
def small_pg(small_demo: SmallDemo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmallPg]:
    """A fresh PostgreSQL database holding the SAME sources as `small_demo` (extracted with the simulator API
    served in a thread), with the whole dbt project built and published as `yiwang build` does. Dropped at
    session end. Skips without a server, except under CI=true."""
    import sqlalchemy as sa

    from yiwang.dbt_runner import dbt_env
    from yiwang.settings import load_settings

    databases = _fresh_pg_database()
    url = next(databases)
    try:
        home = tmp_path_factory.mktemp("small_pg")
        (home / "sources").symlink_to(small_demo.sources, target_is_directory=True)
        env = {
            **small_demo.env,
            "YIWANG_HOME": str(home),
            "YIWANG_WAREHOUSE_URL": url,
            "DBT_TARGET_PATH": str(home / "dbt_target"),
            "DBT_LOG_PATH": str(home / "dbt_logs"),
        }
        env.pop("YIWANG_DUCKDB_PATH", None)
        env.update(dbt_env(load_settings({"YIWANG_HOME": str(home), "YIWANG_WAREHOUSE_URL": url})))
        proc = subprocess.run(
            [sys.executable, "-c", _PG_BUILD],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=1500,
            check=False,
        )
        assert proc.returncode == 0, f"PostgreSQL build failed:\n{_tail(proc.stdout)}\n{_tail(proc.stderr)}"
        assert sa.engine.make_url(url).database == env["YIWANG_PG_DBNAME"]
        yield SmallPg(url=url, home=home, env=env)
    finally:
        databases.close()
