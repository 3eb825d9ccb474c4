"""Fixtures every test folder may use: real servers (PostgreSQL, MariaDB) with a throwaway database each.

A test that needs a server skips with the reason when the server is absent, except under CI=true, where an
absent server is a failure (CI starts the services first).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

import yiwang  # noqa: F401  - first: switches off the tools' usage analytics before they load

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


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database; dropped afterwards. Yields its SQLAlchemy URL."""
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


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path) -> str:  # noqa: ANN001
    """Each warehouse in turn: a DuckDB file, then a fresh PostgreSQL database."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    return request.getfixturevalue("pg_url")
