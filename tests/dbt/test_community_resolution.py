"""A city whose divisions reference names its communities "X社区居委会" (not the "X社区" the demo city uses):
every spelling a record gives (X社区 / X社区居委会 / X居委会 / X社区居民委员会) still resolves to the division's
code through the identity layer (int_communities core names, identity.grid_xref), and the party check-ins by
area carry that community_code, with the division's own name. On DuckDB and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

COMMUNITY = "420106001001"
SPELLINGS = [("BD901", "前进社区"), ("BD902", "前进居委会"), ("BD903", "前进社区居民委员会")]
SELECT = ["--select", "+party_registrations_by_area +party_check_in_rate_by_community"]


def _rename_divisions_and_add_check_ins(execute: Callable[[str, list], object]) -> None:
    execute("update raw_reference.divisions set name = name || '居委会' where trim(level) = '社区'", [])
    # check-ins that name only the community, in each spelling (no grid, no address)
    for key, text in SPELLINGS:
        execute(
            "insert into raw_party.dj_bd (bd_id, dy_id, xm, sfzh, czd_sq, czd_dz, wgmc, bdrq, zt, gxsj, "
            "_batch_id, _loaded_at, _row_hash) select %s, dy_id, xm, sfzh, %s, null, null, bdrq, '已报到', gxsj, "
            "_batch_id, _loaded_at, %s from raw_party.dj_bd where bd_id = 'BD001'",
            [key, text, f"hash-{key}"],
        )


def _check(fetch: Callable[[str], list]) -> None:
    located = dict(
        fetch("select registration_id, community_code from int_party.int_party_registrations_located")
    )
    assert located == {k: COMMUNITY for k in ("BD001", "BD002", "BD901", "BD902", "BD903")}
    rows = fetch(
        "select community_code, community_name, sum(registrations) "
        "from mart_party.party_registrations_by_area group by community_code, community_name"
    )
    assert [tuple(r) for r in rows] == [(COMMUNITY, "前进社区居委会", 4)]
    rate = fetch(
        f"select community_name from mart_party.party_check_in_rate_by_community "
        f"where community_code = '{COMMUNITY}'"
    )
    assert [tuple(r) for r in rate] == [("前进社区居委会",)]


def test_check_ins_get_the_community_of_a_division_named_differently(run_dbt, duckdb_warehouse: Path) -> None:
    import duckdb

    conn = duckdb.connect(str(duckdb_warehouse))
    try:
        _rename_divisions_and_add_check_ins(lambda sql, p: conn.execute(sql.replace("%s", "?"), p))
    finally:
        conn.close()
    result = run_dbt(["run", *SELECT], target="duckdb", env={"YIWANG_DUCKDB_PATH": str(duckdb_warehouse)})
    assert result.success, result.exception
    conn = duckdb.connect(str(duckdb_warehouse))
    try:
        _check(lambda sql: conn.execute(sql).fetchall())
    finally:
        conn.close()


def test_check_ins_get_the_community_of_a_division_named_differently_postgres(
    run_dbt, pg_database: dict[str, str]
) -> None:
    import psycopg

    from yiwang.dbt_runner import pg_hmac_options

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
        _rename_divisions_and_add_check_ins(lambda sql, p: conn.execute(sql, p))
    env = {**pg_database, "PGOPTIONS": pg_hmac_options() or ""}
    result = run_dbt(["run", *SELECT], target="postgres", env=env)
    assert result.success, result.exception
    with connect() as conn:
        _check(lambda sql: conn.execute(sql).fetchall())
