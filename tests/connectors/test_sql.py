"""SQL connector against a real SQLite file and a real MariaDB database, landing in DuckDB and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from connector_support import MiniSource, assert_ledger_reconciles, make_settings, raw_keys

from connectors.errors import ExtractError, SchemaDriftError, SourceTableMissingError
from connectors.landing import get_cursor
from connectors.run import extract_system, ledger_summary
from yiwang.settings import SourceConfig
from yiwang.warehouse import Warehouse

GRID_TABLES = ("wg_grid", "wg_wgy", "wg_syrk", "wg_sj", "wg_sjlz")


def build_grid(src: MiniSource, n: int = 5, create: dict | None = None) -> None:
    create = create or {}
    for name in GRID_TABLES:
        src.create(name, **create.get(name, {}))
        src.insert(name, src.make_rows(name, range(n), "2024-03-01 10:00:00"))
        src.insert(name, src.make_rows(name, range(n, 2 * n), "2024-03-02 09:30:00"))


def grid_settings(tmp_path: Path, src: MiniSource, **options):
    return make_settings(tmp_path, SourceConfig("grid", "sql", url=src.url, options=options))


def run_grid(tmp_path: Path, src: MiniSource, wh: Warehouse, **options):
    return extract_system("grid", grid_settings(tmp_path, src, **options), wh)


def test_sqlite_full_then_incremental(tmp_path: Path, sqlite_source: MiniSource, wh: Warehouse) -> None:
    src = sqlite_source
    build_grid(src)
    progress: list[tuple[str, int, int | None]] = []
    entries = extract_system(
        "grid", grid_settings(tmp_path, src), wh, lambda m, d, t: progress.append((m, d, t))
    )
    assert {e.table_name for e in entries} == set(GRID_TABLES)
    assert progress, "progress callback never called"
    syrk = src.table("wg_syrk")
    assert raw_keys(wh, syrk) == sorted(f"WG_SYRK{i:06d}" for i in range(10))
    # ID numbers stay text, exactly as the source wrote them
    ids = {r[0] for r in wh.query("select sfzh from raw_grid.wg_syrk")}
    assert ids == {"42010319900101123X", "4.20103E+17"}
    assert get_cursor(wh, "grid", "wg_syrk") == "2024-03-02 09:30:00"
    assert get_cursor(wh, "grid", "wg_sjlz") == "2024-03-02 09:30:00"  # its cursor is czsj

    # rerun: the rows inside the 72 h lookback window (all 10 here) are re-read, but nothing new lands
    again = run_grid(tmp_path, src, wh)
    assert all(e.rows_new == 0 for e in again)
    assert {e.table_name: e.rows_read for e in again}["wg_syrk"] == 10

    # a row arriving later with the *same* timestamp as the stored cursor is not missed;
    # an update (later cursor) lands as a new version; a soft delete lands as data
    src.insert("wg_syrk", src.make_rows("wg_syrk", range(10, 11), "2024-03-02 09:30:00"))
    src.execute(
        "update wg_syrk set sfsc = '1', update_time = '2024-03-03 08:00:00' where rkid = 'WG_SYRK000002'"
    )
    third = {e.table_name: e for e in run_grid(tmp_path, src, wh)}
    assert third["wg_syrk"].rows_new == 2
    assert get_cursor(wh, "grid", "wg_syrk") == "2024-03-03 08:00:00"
    versions = wh.query("select sfsc from raw_grid.wg_syrk where rkid = 'WG_SYRK000002' order by update_time")
    assert [v[0] for v in versions] == ["2", "1"]  # make_rows put i % 7 = 2, then the soft delete
    assert len(raw_keys(wh, syrk)) == 11
    assert_ledger_reconciles(wh)
    summary = {s["system"]: s for s in ledger_summary(wh)}
    assert (
        summary["grid"]["rows_read"] == summary["grid"]["rows_landed"] + summary["grid"]["rows_quarantined"]
    )
    assert summary["grid"]["batches"] == 15 and summary["grid"]["failed"] == 0


def test_extra_column_lands_and_drift_fails_only_that_table(
    tmp_path: Path, sqlite_source: MiniSource, duck_wh: Warehouse
) -> None:
    src = sqlite_source
    build_grid(src, create={"wg_grid": {"extra": ("Beizhu",)}, "wg_sj": {"drop": ("myd",)}})
    src.execute("update wg_grid set Beizhu = '新增列'")
    with pytest.raises(ExtractError) as exc:
        run_grid(tmp_path, src, duck_wh)
    err = exc.value
    assert [f.table for f in err.failures] == ["wg_sj"]
    assert isinstance(err.failures[0].error, SchemaDriftError)
    assert "myd" in str(err) and "wg_sj" in str(err)
    # the other tables landed
    assert {e.table_name for e in err.entries} == {"wg_grid", "wg_wgy", "wg_syrk", "wg_sjlz"}
    assert duck_wh.scalar("select count(*) from raw_grid.wg_grid where beizhu = '新增列'") == 10
    # a failed ledger row, no cursor, no raw table content for wg_sj
    failed = duck_wh.query("select table_name, message from ops.load_ledger where status = 'failed'")
    assert [f[0] for f in failed] == ["wg_sj"] and "schema drift" in failed[0][1]
    assert get_cursor(duck_wh, "grid", "wg_sj") is None
    assert_ledger_reconciles(duck_wh)


def test_missing_table_names_system_table_and_url(
    tmp_path: Path, sqlite_source: MiniSource, duck_wh: Warehouse
) -> None:
    src = sqlite_source
    build_grid(src)
    src.execute("drop table wg_wgy")
    with pytest.raises(ExtractError) as exc:
        run_grid(tmp_path, src, duck_wh)
    (failure,) = exc.value.failures
    assert isinstance(failure.error, SourceTableMissingError)
    msg = str(failure.error)
    assert "wg_wgy" in msg and "grid" in msg and "grid.sqlite" in msg


def test_missing_sqlite_file_is_a_clear_error(tmp_path: Path, duck_wh: Warehouse) -> None:
    settings = make_settings(
        tmp_path, SourceConfig("grid", "sql", url=f"sqlite:///{tmp_path / 'nope.sqlite'}")
    )
    with pytest.raises(ExtractError, match="does not exist"):
        extract_system("grid", settings, duck_wh)
    assert not (tmp_path / "nope.sqlite").exists()  # never create an empty source by accident
    assert duck_wh.scalar("select count(*) from ops.load_ledger where status = 'failed'") == 5


def test_mariadb_source(tmp_path: Path, mariadb_source: MiniSource, wh: Warehouse) -> None:
    src = mariadb_source
    build_grid(src, n=4)
    entries = run_grid(tmp_path, src, wh, lookback_hours=0)
    by = {e.table_name: e for e in entries}
    assert by["wg_sj"].rows_read == 8 and by["wg_sj"].rows_new == 8
    assert raw_keys(wh, src.table("wg_sj")) == sorted(f"WG_SJ{i:06d}" for i in range(8))
    # DATETIME comes back as a datetime; landed as text, cursor stored as text
    assert get_cursor(wh, "grid", "wg_sj") == "2024-03-02 09:30:00"
    assert wh.scalar("select xm from raw_grid.wg_syrk where rkid = 'WG_SYRK000001'") == "张三1"
    again = run_grid(tmp_path, src, wh, lookback_hours=0)
    assert sum(e.rows_new for e in again) == 0
    assert {e.table_name: e.rows_read for e in again}["wg_sj"] == 4  # boundary rows only
    src.insert("wg_sj", src.make_rows("wg_sj", range(8, 9), "2024-03-02 09:30:00"))
    third = {e.table_name: e for e in run_grid(tmp_path, src, wh, lookback_hours=0)}
    assert third["wg_sj"].rows_new == 1
    assert_ledger_reconciles(wh)


def test_streams_in_chunks(
    tmp_path: Path, sqlite_source: MiniSource, duck_wh: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    import connectors.sql

    monkeypatch.setattr(connectors.sql, "CHUNK", 7)
    src = sqlite_source
    build_grid(src, n=2)
    src.insert(
        "wg_sjlz",
        [
            r | {"czsj": f"2024-04-01 00:00:{i:02d}"}
            for i, r in enumerate(src.make_rows("wg_sjlz", range(100, 150), ""))
        ],
    )
    calls: list[tuple[str, int, int | None]] = []
    entries = extract_system("grid", grid_settings(tmp_path, src), duck_wh, lambda *a: calls.append(a))
    assert {e.table_name: e.rows_read for e in entries}["wg_sjlz"] == 54
    assert [d for m, d, _ in calls if m == "raw_grid.wg_sjlz"] == [7, 14, 21, 28, 35, 42, 49, 54]
    assert get_cursor(duck_wh, "grid", "wg_sjlz") == "2024-04-01 00:00:49"
    assert_ledger_reconciles(duck_wh)


def test_postgresql_source(tmp_path: Path, pg_source: MiniSource, duck_wh: Warehouse) -> None:
    src = pg_source
    for name in ("dj_org", "dj_dy", "dj_bd", "dj_fwjl", "dj_shyk"):
        src.create(name)
        src.insert(name, src.make_rows(name, range(3), "2024-03-01 10:00:00"))
        src.insert(name, src.make_rows(name, range(3, 6), "2024-03-02 09:30:00.250000"))
    settings = make_settings(
        tmp_path, SourceConfig("party", "sql", url=src.url, options={"lookback_hours": 0})
    )
    entries = {e.table_name: e for e in extract_system("party", settings, duck_wh)}
    assert entries["dj_dy"].rows_new == 6
    assert get_cursor(duck_wh, "party", "dj_dy") == "2024-03-02 09:30:00.250000"
    assert duck_wh.scalar("select xm from raw_party.dj_dy where dy_id = 'DJ_DY000004'") == "张三4"
    src.insert("dj_dy", src.make_rows("dj_dy", range(6, 7), "2024-03-02 09:30:00.250000"))
    again = {e.table_name: e for e in extract_system("party", settings, duck_wh)}
    assert (again["dj_dy"].rows_read, again["dj_dy"].rows_new) == (4, 1)  # boundary rows + the new one
    assert_ledger_reconciles(duck_wh)


def test_late_rows_inside_the_lookback_land_outside_are_flagged(
    tmp_path: Path, sqlite_source: MiniSource, wh: Warehouse
) -> None:
    src = sqlite_source
    build_grid(src)
    settings = make_settings(
        tmp_path, SourceConfig("grid", "sql", url=src.url, options={"lookback_hours": 24})
    )
    extract_system("grid", settings, wh)
    assert get_cursor(wh, "grid", "wg_syrk") == "2024-03-02 09:30:00"
    # written late: one 12 h older than the cursor (inside the 24 h window), one 5 days older (outside)
    src.insert("wg_syrk", src.make_rows("wg_syrk", range(20, 21), "2024-03-01 21:30:00"))
    src.insert("wg_syrk", src.make_rows("wg_syrk", range(30, 31), "2024-02-26 09:30:00"))
    entry = {e.table_name: e for e in extract_system("grid", settings, wh)}["wg_syrk"]
    keys = raw_keys(wh, src.table("wg_syrk"))
    assert "WG_SYRK000020" in keys and "WG_SYRK000030" not in keys
    assert entry.rows_new == 1
    assert "LATE: 1 source row(s)" in (entry.message or "")
    assert get_cursor(wh, "grid", "wg_syrk") == "2024-03-02 09:30:00"  # the cursor never moves back
    # a full refresh picks up the row beyond the window, and lands nothing twice
    full = {e.table_name: e for e in extract_system("grid", settings, wh, full_refresh=True)}["wg_syrk"]
    assert full.rows_new == 1 and "LATE" not in (full.message or "")
    assert "WG_SYRK000030" in raw_keys(wh, src.table("wg_syrk"))
    assert_ledger_reconciles(wh)
