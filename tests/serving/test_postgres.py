"""The same API on PostgreSQL: the public mart schemas read in read-only transactions, validators from
ops.build_log. The tiny city's published marts are copied as they are into a fresh PostgreSQL database (building
the city again on PostgreSQL is the pipeline suites' job) and the lookup tables written from them there, as a
publish on PostgreSQL does; then every route must answer on PostgreSQL exactly what it answers from the DuckDB
snapshot — same bodies, same ETags."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

import duckdb
import pytest
import requests
from servingcity import City, Keys, serve
from sqlalchemy.engine import make_url

from serving import queries
from yiwang import serving_tables
from yiwang.publish import BUILD_LOG_DDL
from yiwang.snapshot import current_snapshot, open_published
from yiwang.warehouse import open_warehouse

pytestmark = [pytest.mark.xdist_group("serving_city"), pytest.mark.slow, pytest.mark.integration]

_TYPES = {
    "VARCHAR": "text",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "SMALLINT": "smallint",
    "HUGEINT": "numeric",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "BOOLEAN": "boolean",
}


def _pg_type(duck: str) -> str:
    if duck.startswith("DECIMAL"):
        return duck.replace("DECIMAL", "numeric")
    return _TYPES[duck]


def copy_published(city: City, pg_url: str) -> str:
    """Every mart of the current snapshot into the same schema.table on PostgreSQL, and the build_log row."""
    import psycopg

    path = current_snapshot(city.settings)
    build_id = path.stem.removeprefix("marts-")
    published_at = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).replace(tzinfo=None)
    src = duckdb.connect(str(path), read_only=True)
    url = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(url) as pg:
            tables = src.execute(
                "select table_schema, table_name from information_schema.tables where table_schema <> ?"
                " order by 1, 2",
                [serving_tables.SCHEMA],  # the lookup tables: written on PostgreSQL below, as a publish does
            ).fetchall()
            for schema, table in tables:
                cols = src.execute(
                    "select column_name, data_type from information_schema.columns"
                    " where table_schema = ? and table_name = ? order by ordinal_position",
                    [schema, table],
                ).fetchall()
                pg.execute(f'create schema if not exists "{schema}"')
                pg.execute(
                    f'create table "{schema}"."{table}" ('
                    + ", ".join(f'"{c}" {_pg_type(t)}' for c, t in cols)
                    + ")"
                )
                names = ", ".join(f'"{c}"' for c, _ in cols)
                with pg.cursor().copy(f'copy "{schema}"."{table}" ({names}) from stdin') as copy:
                    for row in src.execute(f'select * from "{schema}"."{table}"').fetchall():
                        copy.write_row(row)
            for stmt in BUILD_LOG_DDL:
                pg.execute(stmt)
            pg.execute(
                "insert into ops.build_log (build_id, published_at, mart_row_counts) values (%s, %s, '{}')",
                [build_id, published_at],
            )
    finally:
        src.close()
    return build_id


def test_postgres_answers_what_duckdb_answers(city: City, keys: Keys, api: str, pg_url: str) -> None:
    copy_published(city, pg_url)
    with open_warehouse(pg_url) as wh, wh.transaction() as tx:
        written = serving_tables.write(tx)  # what publish does in its transaction, here on PostgreSQL
    assert all(written.values()) and len(written) == len(serving_tables.TABLES)
    pg_settings = replace(city.settings, warehouse_url=pg_url)
    with open_published(pg_settings) as reader:  # the API will read them, not the marts
        assert queries.lookup_tables(reader) == set(serving_tables.TABLES)
    con = duckdb.connect(str(current_snapshot(city.settings)), read_only=True)
    try:
        one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
        item = one("select item_code from mart_catalog.approval_on_time_by_item_period order by 1 limit 1")
        grid = one("select max(grid_code) from mart_governance.governance_by_grid_month")
        community = one("select max(community_code) from mart_party.party_check_in_rate_by_community")
        resident = one("select min(resident_key) from mart_residents.resident_services")
        life = one(
            "select min(community_names) from mart_catalog.service_catalog where community_names is not null"
        )
    finally:
        con.close()
    paths = [
        ("/v1/catalog?limit=20", None),
        ("/v1/catalog?q=服务&limit=30", None),
        (f"/v1/catalog?kind=life&community={life.split(',')[0]}&limit=30", None),
        (f"/v1/catalog/{item}?period=quarter", None),
        (f"/v1/dashboards/grids/{grid}", None),
        (f"/v1/dashboards/communities/{community}", None),
        ("/v1/dashboards/communities", None),
        (f"/v1/departments/{keys.own_dept_uscc}/performance", keys.all_depts),
        (f"/v1/residents/{resident}", keys.all_depts),
    ]
    with serve(city, hub=pg_settings) as server:
        cursor = requests.get(f"{server.url}/v1/catalog?limit=20", timeout=30).json()["next_cursor"]
        paths.append((f"/v1/catalog?limit=20&cursor={cursor}", None))
        for path, key in paths:
            headers = {"X-API-Key": key} if key else {}
            on_pg = requests.get(server.url + path, headers=headers, timeout=30)
            on_duck = requests.get(api + path, headers=headers, timeout=30)
            assert on_pg.status_code == on_duck.status_code == 200, (path, on_pg.text[:300])
            assert on_pg.json() == on_duck.json(), path
            assert on_pg.headers["ETag"] == on_duck.headers["ETag"], (
                path
            )  # the same publish, the same validators
            assert re.fullmatch(r'"[0-9a-f]{32}"', on_pg.headers["ETag"])
        assert requests.get(f"{server.url}/v1/catalog/NOSUCHITEM0", timeout=30).status_code == 404
