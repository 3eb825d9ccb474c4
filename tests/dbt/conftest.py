"""Shared fixtures for the dbt project tests: throwaway DuckDB / PostgreSQL warehouses holding
the hand-written raw rows of ``raw_fixture``, and a helper that runs dbt in-process."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from raw_fixture import build_raw_fixture  # noqa: E402

from yiwang.dbt_runner import release_duckdb  # noqa: E402

REPO = HERE.parents[1]
DBT_PROJECT = REPO / "dbt_project"

PG_HOST = os.environ.get("YIWANG_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("YIWANG_PG_PORT", "5432"))
PG_USER = os.environ.get("YIWANG_PG_USER", "postgres")
PG_PASSWORD = os.environ.get("YIWANG_PG_PASSWORD", "")


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture()
def run_dbt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., object]:
    """Run a dbt command in-process against dbt_project/, with its own target and log dirs.

    ``run_dbt(["build"], target="duckdb", env={...})`` returns the dbtRunnerResult.
    """
    from dbt.cli.main import dbtRunner

    def _run(args: list[str], target: str | None = None, env: dict[str, str] | None = None):
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        cli = [
            *args,
            "--project-dir",
            str(DBT_PROJECT),
            "--profiles-dir",
            str(DBT_PROJECT),
            "--target-path",
            str(tmp_path / f"target_{target or 'default'}"),
            "--log-path",
            str(tmp_path / "logs"),
        ]
        if target:
            cli += ["--target", target]
        try:
            return dbtRunner().invoke(cli)
        finally:
            # close the DuckDB database dbt-duckdb keeps open in this process (opened with the profile's spill
            # directory), so the test's own connection to the file opens it afresh, as yiwang.dbt_runner does
            release_duckdb()

    return _run


@pytest.fixture()
def duckdb_warehouse(tmp_path: Path) -> Iterator[Path]:
    """A fresh DuckDB file with every raw_<system> table of the contract and the fixture rows."""
    import duckdb

    path = tmp_path / "warehouse.duckdb"
    conn = duckdb.connect(str(path))
    try:
        build_raw_fixture(conn)
    finally:
        conn.close()
    yield path


def _pg_connect(dbname: str):
    import psycopg

    return psycopg.connect(
        host=PG_HOST,
        port=PG_PORT,
        user=PG_USER,
        password=PG_PASSWORD or None,
        dbname=dbname,
        connect_timeout=5,
        autocommit=True,
    )


@pytest.fixture()
def pg_database() -> Iterator[dict[str, str]]:
    """A fresh PostgreSQL database ``yiwang_test_<random>`` with the raw fixture; dropped afterwards.

    Yields the ``YIWANG_PG_*`` environment that points dbt's ``postgres`` target at it.
    Skips when the server is unreachable, except with CI=true, where that is a failure.
    """
    try:
        admin = _pg_connect("postgres")
    except Exception as exc:  # psycopg.OperationalError and friends
        reason = f"PostgreSQL at {PG_HOST}:{PG_PORT} unreachable as {PG_USER}: {exc}"
        if _in_ci():
            pytest.fail(f"{reason} (CI=true: PostgreSQL is required)")
        pytest.skip(reason)
    name = f"yiwang_test_{uuid.uuid4().hex[:10]}"
    admin.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
    try:
        conn = _pg_connect(name)
        conn.autocommit = False
        try:
            build_raw_fixture(conn)
        finally:
            conn.close()
        yield {
            "YIWANG_PG_HOST": PG_HOST,
            "YIWANG_PG_PORT": str(PG_PORT),
            "YIWANG_PG_USER": PG_USER,
            "YIWANG_PG_PASSWORD": PG_PASSWORD,
            "YIWANG_PG_DBNAME": name,
        }
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
