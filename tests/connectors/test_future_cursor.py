"""Issue 12 (6): one future-dated row must not poison the incremental cursor."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from connector_support import ApiServer, MiniSource, assert_ledger_reconciles, http_source, make_settings

from connectors.cursors import SOURCE_TZ, parse_instant
from connectors.landing import get_cursor, set_cursor
from connectors.run import extract_system
from yiwang.settings import SourceConfig
from yiwang.warehouse import Warehouse


def _local(delta: dt.timedelta) -> str:
    """A source timestamp (local time, no offset) relative to now."""
    return (dt.datetime.now(SOURCE_TZ) + delta).strftime("%Y-%m-%d %H:%M:%S")


def _grid(tmp_path: Path, src: MiniSource, wh: Warehouse, **options: Any) -> dict[str, Any]:
    settings = make_settings(tmp_path, SourceConfig("grid", "sql", url=src.url, options=options))
    return {e.table_name: e for e in extract_system("grid", settings, wh)}


def test_future_row_lands_is_flagged_and_does_not_move_the_cursor(
    tmp_path: Path, sqlite_source: MiniSource, wh: Warehouse
) -> None:
    src = sqlite_source
    for name in ("wg_grid", "wg_wgy", "wg_syrk", "wg_sj", "wg_sjlz"):
        src.create(name)
    yesterday = _local(dt.timedelta(days=-1))
    src.insert("wg_syrk", src.make_rows("wg_syrk", range(3), yesterday))
    src.insert("wg_syrk", src.make_rows("wg_syrk", range(3, 4), "2099-01-01 00:00:00"))  # a typo'd year
    first = _grid(tmp_path, src, wh)["wg_syrk"]
    assert first.rows_new == 4  # the future row lands all the same
    assert get_cursor(wh, "grid", "wg_syrk") == yesterday
    assert "FUTURE: 1 row(s)" in (first.message or "") and "2099-01-01 00:00:00" in first.message
    flagged = wh.query("select row_key, cursor_column, cursor_value, batch_id from ops.future_rows")
    assert flagged == [("WG_SYRK000003", "update_time", "2099-01-01 00:00:00", first.batch_id)]

    # a row updated after the first run (but dated before 2099) is fetched by the next run
    src.insert("wg_syrk", src.make_rows("wg_syrk", range(4, 5), _local(dt.timedelta(minutes=-1))))
    second = _grid(tmp_path, src, wh)["wg_syrk"]
    assert second.rows_new == 1
    assert wh.scalar("select count(*) from raw_grid.wg_syrk where rkid = 'WG_SYRK000004'") == 1
    assert wh.scalar("select count(*) from ops.future_rows") == 1  # flagged once, not once per run
    assert parse_instant(get_cursor(wh, "grid", "wg_syrk")) <= dt.datetime.now(dt.UTC) + dt.timedelta(
        minutes=5
    )
    assert_ledger_reconciles(wh)


def test_a_cursor_already_in_the_future_heals(
    tmp_path: Path, sqlite_source: MiniSource, wh: Warehouse
) -> None:
    src = sqlite_source
    for name in ("wg_grid", "wg_wgy", "wg_syrk", "wg_sj", "wg_sjlz"):
        src.create(name)
    yesterday = _local(dt.timedelta(days=-1))
    src.insert("wg_syrk", src.make_rows("wg_syrk", range(2), yesterday))
    _grid(tmp_path, src, wh)
    with wh.transaction() as tx:  # what an earlier version left behind after a row dated 2099
        set_cursor(tx, "grid", "wg_syrk", "2099-01-01 00:00:00")
    an_hour_ago = _local(dt.timedelta(hours=-1))
    src.insert("wg_syrk", src.make_rows("wg_syrk", range(2, 3), an_hour_ago))
    entry = _grid(tmp_path, src, wh, future_skew_minutes=10)["wg_syrk"]
    assert entry.rows_new == 1 and "read from the beginning" in (entry.message or "")
    assert get_cursor(wh, "grid", "wg_syrk") == an_hour_ago
    assert_ledger_reconciles(wh)


def test_http_future_record(tmp_path: Path, api_server: ApiServer, wh: Warehouse) -> None:
    def item(i: int, updated: str) -> dict[str, Any]:
        return {
            "sxbm": f"XK{i:05d}001",
            "ssbm": f"S{i}",
            "sxmc": f"事项{i}",
            "sxlx": "行政许可",
            "bmUscc": "11420100MB0000000X",
            "bmmc": "市民政局",
            "xscj": "市级",
            "fdsx": 20,
            "cnsx": 5,
            "bjlx": "承诺件",
            "wbsd": "全程网办",
            "dxcs": 0,
            "updatedAt": updated,
        }

    now = dt.datetime.now(dt.UTC)
    past = (now - dt.timedelta(hours=2)).isoformat(timespec="seconds")
    api_server.state.data.update(
        {
            ("approval", "items"): [item(1, past), item(2, "2099-12-31T00:00:00+08:00")],
            ("approval", "cases"): [],
            ("approval", "evaluations"): [],
        }
    )
    settings = make_settings(tmp_path, http_source(api_server, "approval"))
    items = {e.table_name: e for e in extract_system("approval", settings, wh)}["items"]
    assert items.rows_new == 2
    assert get_cursor(wh, "approval", "items") == past
    assert "FUTURE: 1 row(s)" in (items.message or "")
    assert wh.query("select row_key from ops.future_rows") == [("XK00002001",)]
    later = (now - dt.timedelta(minutes=1)).isoformat(timespec="seconds")
    api_server.state.data[("approval", "items")].append(item(3, later))
    again = {e.table_name: e for e in extract_system("approval", settings, wh)}["items"]
    assert again.rows_new == 1 and get_cursor(wh, "approval", "items") == later
    assert_ledger_reconciles(wh)
