"""Staging tables kept by changed key (dbt_project/macros/staging_incremental.sql) equal a full rebuild.

On the hand-written raw fixture, in every raw table at once: a row the raw gate rejected before the first build
is released, another row is rejected after it, and a row arrives again in a later batch (a new version with the
same content: its batch and load time win). The incremental build that follows must leave every staging table
as `dbt run --full-refresh` of the same raw rows does, on DuckDB and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

STAGING = ["run", "--select", "path:models/staging"]
LATER = dt.datetime(2026, 12, 1, 8, 0, 0)


@contextmanager
def _connect(engine: str, where: Any) -> Iterator[tuple[Any, str]]:
    """A connection and its parameter placeholder."""
    if engine == "duckdb":
        import duckdb

        conn = duckdb.connect(str(where))
        try:
            yield conn, "?"
        finally:
            conn.close()
    else:
        import psycopg

        with psycopg.connect(
            host=where["YIWANG_PG_HOST"],
            port=int(where["YIWANG_PG_PORT"]),
            user=where["YIWANG_PG_USER"],
            password=where["YIWANG_PG_PASSWORD"] or None,
            dbname=where["YIWANG_PG_DBNAME"],
            autocommit=True,
        ) as conn:
            yield conn, "%s"


def _query(conn: Any, sql: str, params: list | None = None) -> list[tuple]:
    cur = conn.execute(sql, params) if params else conn.execute(sql)
    return [tuple(r) for r in cur.fetchall()]


def _raw_tables(conn: Any) -> list[tuple[str, str]]:
    return _query(
        conn,
        "select table_schema, table_name from information_schema.tables "
        "where table_schema like 'raw\\_%' escape '\\' order by 1, 2",
    )


def _nth_row(conn: Any, schema: str, table: str, n: int) -> str | None:
    rows = _query(conn, f'select _row_hash from {schema}."{table}" order by _row_hash')
    return rows[n][0] if len(rows) > n else None


def _reject(conn: Any, ph: str, schema: str, table: str, row_hash: str) -> None:
    conn.execute(
        f"insert into ops.raw_rejects values ({', '.join([ph] * 7)})",
        [schema.removeprefix("raw_"), table, row_hash, "gx:test", "b1", "q-" + row_hash[:8], LATER],
    )


def _staging(conn: Any) -> dict[str, list[str]]:
    tables = _query(
        conn,
        "select table_name from information_schema.tables where table_schema = 'staging' "
        "and table_name like 'stg\\_%' escape '\\' order by 1",
    )
    return {t: sorted(repr(r) for r in _query(conn, f'select * from staging."{t}"')) for (t,) in tables}


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest) -> tuple[str, Any, dict[str, str]]:
    if request.param == "duckdb":
        path: Path = request.getfixturevalue("duckdb_warehouse")
        return "duckdb", path, {"YIWANG_DUCKDB_PATH": str(path)}
    env = request.getfixturevalue("pg_database")
    return "postgres", env, env


def test_incremental_staging_equals_full_refresh(run_dbt: Callable[..., Any], warehouse: tuple) -> None:
    engine, where, env = warehouse
    target = "duckdb" if engine == "duckdb" else "postgres"
    released: dict[tuple[str, str], str] = {}
    with _connect(engine, where) as (conn, ph):
        for schema, table in _raw_tables(conn):  # rejected before the first build, released after it
            if (h := _nth_row(conn, schema, table, 1)) is not None:
                _reject(conn, ph, schema, table, h)
                released[(schema, table)] = h
    first = run_dbt(STAGING, target=target, env=env)
    assert first.success, first.exception

    with _connect(engine, where) as (conn, ph):
        built = _staging(conn)
        for schema, table in _raw_tables(conn):
            if (schema, table) in released:
                conn.execute(
                    f"delete from ops.raw_rejects where system = {ph} and table_name = {ph} and _row_hash = {ph}",
                    [schema.removeprefix("raw_"), table, released[(schema, table)]],
                )
            if (h := _nth_row(conn, schema, table, 0)) is not None:
                _reject(conn, ph, schema, table, h)
            if (h := _nth_row(conn, schema, table, 2)) is not None:  # the same row again, a later batch
                cols = [
                    c
                    for (c,) in _query(
                        conn,
                        f"select column_name from information_schema.columns "
                        f"where table_schema = '{schema}' and table_name = '{table}' "
                        "order by ordinal_position",
                    )
                ]
                values = [
                    "'b9'"
                    if c == "_batch_id"
                    else f"cast('{LATER}' as timestamp)"
                    if c == "_loaded_at"
                    else "_row_hash || '-again'"
                    if c == "_row_hash"
                    else f'"{c}"'
                    for c in cols
                ]
                conn.execute(
                    f'insert into {schema}."{table}" select {", ".join(values)} from {schema}."{table}" '
                    f"where _row_hash = {ph}",
                    [h],
                )

    # no lookback: only the rows loaded after the newest row the tables hold count as new, so a released or newly
    # rejected row is found by its reject status alone (with the default 72 h, every fixture row is recent)
    second = run_dbt([*STAGING, "--vars", "{staging_lookback_hours: 0}"], target=target, env=env)
    assert second.success, second.exception
    ran = {r.node.name: r for r in second.result.results}
    assert "changed_key" in ran["stg_grid__events"].node.compiled_code, "the second build was not incremental"
    with _connect(engine, where) as (conn, _):
        incremental = _staging(conn)

    full = run_dbt([*STAGING, "--full-refresh"], target=target, env=env)
    assert full.success, full.exception
    with _connect(engine, where) as (conn, _):
        rebuilt = _staging(conn)

    assert incremental.keys() == rebuilt.keys()
    differ = sorted(t for t in rebuilt if incremental[t] != rebuilt[t])
    assert not differ, f"incremental staging differs from a full refresh in {differ}"
    changed = sorted(t for t in rebuilt if built.get(t) != rebuilt[t])
    assert len(changed) >= 15, f"the changes reached only {changed}"
