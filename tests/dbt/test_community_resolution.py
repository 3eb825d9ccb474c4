"""A city whose divisions reference names its communities "X社区居委会" (not the "X社区" the demo city uses):
every spelling a record gives (X社区 / X社区居委会 / X居委会 / X社区居民委员会) still resolves to the division's
code through the identity layer (int_communities core names, identity.grid_xref), and the party check-ins by
area carry that community_code, with the division's own name."""

from __future__ import annotations

from pathlib import Path

COMMUNITY = "420106001001"


def test_check_ins_get_the_community_of_a_division_named_differently(run_dbt, duckdb_warehouse: Path) -> None:
    import duckdb

    conn = duckdb.connect(str(duckdb_warehouse))
    try:
        conn.execute("update raw_reference.divisions set name = name || '居委会' where trim(level) = '社区'")
        assert conn.execute("select name from raw_reference.divisions where trim(division_code) = ?",
                            [COMMUNITY]).fetchone()[0] == "前进社区居委会"
        # check-ins that name only the community, in each spelling (no grid, no address)
        for key, text in [("BD901", "前进社区"), ("BD902", "前进居委会"), ("BD903", "前进社区居民委员会")]:
            conn.execute(
                "insert into raw_party.dj_bd select * replace (? as bd_id, ? as czd_sq, null as czd_dz, "
                "null as wgmc, '已报到' as zt, ? as _row_hash) from raw_party.dj_bd where bd_id = 'BD001'",
                [key, text, f"hash-{key}"])
    finally:
        conn.close()

    env = {"YIWANG_DUCKDB_PATH": str(duckdb_warehouse)}
    result = run_dbt(["run", "--select", "+party_registrations_by_area"], target="duckdb", env=env)
    assert result.success, result.exception

    conn = duckdb.connect(str(duckdb_warehouse))
    try:
        located = dict(conn.execute("select registration_id, community_code "
                                    "from int_party.int_party_registrations_located").fetchall())
        assert located == {k: COMMUNITY for k in ("BD001", "BD002", "BD901", "BD902", "BD903")}
        rows = conn.execute("select community_code, community_name, sum(registrations) "
                            "from mart_party.party_registrations_by_area group by all").fetchall()
        assert rows == [(COMMUNITY, "前进社区居委会", 4)]
    finally:
        conn.close()
