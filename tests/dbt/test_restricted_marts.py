"""Restricted marts (personal data, schema mart_residents) are off unless a city switches them on with the dbt
var ``yiwang_restricted_marts``; while off, a dbt run drops what an earlier run left in their schemas, so
``yiwang.publish`` (which publishes every table of a ``mart_*__build`` schema) has nothing personal to publish."""

from __future__ import annotations

from pathlib import Path

ON = ["--vars", "{yiwang_restricted_marts: true}"]


def _models(run_dbt, *extra: str) -> set[str]:
    result = run_dbt(
        [
            "ls",
            "--resource-type",
            "model",
            "--resource-type",
            "unit_test",
            "--resource-type",
            "exposure",
            "--select",
            "path:models/marts/residents",
            "--output",
            "name",
            *extra,
        ]
    )
    assert result.success, result.exception
    return {str(n).rsplit(".", 1)[-1] for n in result.result}


def test_restricted_marts_off_by_default_and_on_when_switched(run_dbt) -> None:
    assert _models(run_dbt) == set()
    assert {
        "resident_services",
        "test_resident_services_masked_and_grouped",
        "once_only_resident_view",
    } <= _models(run_dbt, *ON)


def test_run_drops_leftover_restricted_marts_while_off(run_dbt, duckdb_warehouse: Path) -> None:
    import duckdb

    def leftovers() -> set[str]:
        conn = duckdb.connect(str(duckdb_warehouse))
        try:
            return {
                f"{s}.{t}"
                for s, t in conn.execute(
                    "select table_schema, table_name from information_schema.tables "
                    "where table_schema in ('mart_residents', 'mart_residents__build')"
                ).fetchall()
            }
        finally:
            conn.close()

    conn = duckdb.connect(str(duckdb_warehouse))
    try:
        for schema in ("mart_residents", "mart_residents__build"):
            conn.execute(f"create schema {schema}")
            conn.execute(f"create table {schema}.resident_services as select 'R1' as resident_key")
            conn.execute(f"create table {schema}.not_restricted as select 1 as x")
    finally:
        conn.close()
    env = {"YIWANG_DUCKDB_PATH": str(duckdb_warehouse), "YIWANG_BUILD_SCHEMA_SUFFIX": "__build"}
    cheap = ["--select", "stg_reference__divisions"]

    result = run_dbt(["run", *cheap, *ON], target="duckdb", env=env)
    assert result.success, result.exception
    assert "mart_residents.resident_services" in leftovers()  # switched on: kept

    result = run_dbt(["run", *cheap], target="duckdb", env=env)
    assert result.success, result.exception
    left = leftovers()
    assert left == {"mart_residents.not_restricted", "mart_residents__build.not_restricted"}, left


def test_run_drops_leftover_restricted_marts_while_off_postgres(run_dbt, pg_database: dict[str, str]) -> None:
    import psycopg

    def connect():  # noqa: ANN202
        return psycopg.connect(
            host=pg_database["YIWANG_PG_HOST"],
            port=int(pg_database["YIWANG_PG_PORT"]),
            user=pg_database["YIWANG_PG_USER"],
            password=pg_database["YIWANG_PG_PASSWORD"] or None,
            dbname=pg_database["YIWANG_PG_DBNAME"],
            autocommit=True,
        )

    with connect() as conn:
        for schema in ("mart_residents", "mart_residents__build"):
            conn.execute(f"create schema {schema}")
            conn.execute(f"create table {schema}.resident_services as select 'R1' as resident_key")
    result = run_dbt(
        ["run", "--select", "stg_reference__divisions"],
        target="postgres",
        env={**pg_database, "YIWANG_BUILD_SCHEMA_SUFFIX": "__build"},
    )
    assert result.success, result.exception
    with connect() as conn:
        left = conn.execute(
            "select table_schema from information_schema.tables where table_name = 'resident_services'"
        ).fetchall()
    assert left == []
