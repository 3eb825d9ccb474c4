"""dbt build of dbt_project/ against throwaway DuckDB and PostgreSQL warehouses."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from raw_fixture import EXPECTED_ROWS, MODEL_SCHEMA

# The staging layer and the catalog mart (with what it is built from), their tests and unit tests. Other layers
# (intermediate/, other marts) bring their own fixtures and tests; YIWANG_DBT_TEST_SELECT=all
# builds the whole project against this fixture instead.
SELECT = ["--select", "path:models/staging", "+service_catalog"]
if os.environ.get("YIWANG_DBT_TEST_SELECT", "").lower() == "all":
    SELECT = []

# spot checks: (model, key column, key, column, expected value)
SPOT_CHECKS = [
    ("stg_party__members", "member_id", "DY001", "id_no", "420106196402151231"),  # 15 -> 18
    ("stg_party__members", "member_id", "DY001", "name", "张三"),  # suffix removed
    ("stg_party__members", "member_id", "DY002", "name", "於明"),  # 於 kept
    ("stg_party__members", "member_id", "DY002", "id_no", "42010619800101012X"),  # lowercase x
    ("stg_party__members", "member_id", "DY004", "name", "陈丽华"),  # traditional
    ("stg_party__members", "member_id", "DY004", "id_no_kind", "excel_mangled"),
    ("stg_party__members", "member_id", "DY004", "birth_date", dt.date(1964, 2, 15)),  # Excel serial
    ("stg_party__members", "member_id", "DY003", "phone_2", "13987654321"),
    ("stg_party__orgs", "org_id", "ORG002", "secretary_name", "张伟"),  # latest version
    ("stg_grid__residents", "resident_id", "RK002", "is_deleted", True),  # soft delete kept
    ("stg_approval__items", "item_code", "XK00123001", "promised_limit_days", 3),
    ("stg_approval__items", "item_code", "QR00456001", "updated_at", dt.datetime(2026, 10, 1, 9, 0)),
    ("stg_property__owners", "source_key", "前进小区|3|2|502", "id_no_masked", "420106********1234"),
    ("stg_property__estates", "source_key", "前进小区|acme", "households", 430),  # re-sent file wins
    ("stg_hotline__tickets", "ticket_id", "GD20261001002", "follow_up_result", "基本满意"),
    ("service_catalog", "item_code", "XK00123001", "department_name", "某市行政审批局"),
    ("service_catalog", "item_code", "SH0001", "site_count", 2),
]


def _check_warehouse(query) -> None:
    for model, expected in EXPECTED_ROWS.items():
        (count,) = query(f"select count(*) from {MODEL_SCHEMA[model]}.{model}")[0]
        assert count == expected, f"{model}: {count} rows, expected {expected}"
    for model, key_col, key, col, expected in SPOT_CHECKS:
        rows = query(f"select {col} from {MODEL_SCHEMA[model]}.{model} where {key_col} = '{key}'")
        assert rows, f"{model}: no row {key_col}={key}"
        assert rows[0][0] == expected, f"{model}[{key}].{col} = {rows[0][0]!r}, expected {expected!r}"


def _assert_success(result) -> None:
    failures = []
    if result.result is not None and hasattr(result.result, "results"):
        failures = [
            f"{r.node.unique_id}: {r.status} {r.message}"
            for r in result.result.results
            if str(r.status) not in ("success", "pass", "warn")
        ]
    assert result.success, f"dbt failed: {result.exception or failures}"


def test_dbt_parse(run_dbt) -> None:
    result = run_dbt(["parse"])
    assert result.success, result.exception


def test_dbt_build_duckdb(run_dbt, duckdb_warehouse: Path) -> None:
    import duckdb

    result = run_dbt(["build", *SELECT], target="duckdb", env={"YIWANG_DUCKDB_PATH": str(duckdb_warehouse)})
    _assert_success(result)
    # dbt-duckdb may still hold the file in this process: open it with the default
    # configuration so DuckDB shares that instance instead of refusing a second one.
    conn = duckdb.connect(str(duckdb_warehouse))
    try:
        _check_warehouse(lambda sql: conn.execute(sql).fetchall())
    finally:
        conn.close()


def test_dbt_build_postgres(run_dbt, pg_database: dict[str, str]) -> None:
    import psycopg

    result = run_dbt(["build", *SELECT], target="postgres", env=pg_database)
    _assert_success(result)
    with psycopg.connect(
        host=pg_database["YIWANG_PG_HOST"],
        port=int(pg_database["YIWANG_PG_PORT"]),
        user=pg_database["YIWANG_PG_USER"],
        password=pg_database["YIWANG_PG_PASSWORD"] or None,
        dbname=pg_database["YIWANG_PG_DBNAME"],
    ) as conn:
        _check_warehouse(lambda sql: conn.execute(sql).fetchall())


def test_rejected_rows_never_reach_any_staging_model(run_dbt, duckdb_warehouse: Path) -> None:
    """Every raw row of every table rejected by a gate: every staging model that reads raw is empty. A model
    whose reject filter names the wrong table (as a CTE-based one once did) keeps its rows and fails this."""
    import duckdb

    conn = duckdb.connect(str(duckdb_warehouse))
    try:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema like 'raw\\_%' escape '\\'"
        ).fetchall()
        for schema, table in tables:
            conn.execute(
                "insert into ops.raw_rejects select ?, ?, _row_hash, 'gx:test', _batch_id, 'q', now() "
                f'from {schema}."{table}"',
                [schema.removeprefix("raw_"), table],
            )
        assert conn.execute("select count(*) from ops.raw_rejects").fetchone()[0] > 50
    finally:
        conn.close()
    result = run_dbt(
        ["run", "--select", "path:models/staging"],
        target="duckdb",
        env={"YIWANG_DUCKDB_PATH": str(duckdb_warehouse)},
    )
    _assert_success(result)
    conn = duckdb.connect(str(duckdb_warehouse))
    try:
        models = [
            r[0]
            for r in conn.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'staging' and table_name like 'stg\\_%' "
                "escape '\\'"
            ).fetchall()
        ]
        assert len(models) >= 20
        leaked = {
            m: n for m in models if (n := conn.execute(f"select count(*) from staging.{m}").fetchone()[0])
        }
        assert leaked == {}, f"staging models still holding rejected rows: {leaked}"
    finally:
        conn.close()
