"""HTTP connector against a real loopback server implementing the contract's paging and faults."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from connector_support import ApiServer, assert_ledger_reconciles, http_source, make_settings, raw_keys

from connectors.errors import ExtractError, SourceUnavailableError
from connectors.landing import get_cursor
from connectors.run import extract_system
from yiwang.contracts import load_contract
from yiwang.warehouse import Warehouse


def approval_data(n: int = 7) -> dict[tuple[str, str], list[dict[str, Any]]]:
    items = [
        {
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
            "updatedAt": f"2024-03-0{1 + i % 3}T10:00:00+08:00",
        }
        for i in range(n)
    ]
    cases = [
        {
            "bjbh": f"BJ{i:06d}",
            "sxbm": "XK00001001",
            "sqrlx": "自然人",
            "sqrmc": "李四",
            "sqrzjhm": "4.20103E+17",
            "sqrdh": None,
            "sqrdz": None,
            "qd": "网上",
            "slsj": "2024-03-01T09:00:00+08:00",
            "cnbjsj": "2024-03-05T09:00:00+08:00",
            "bjsj": None,
            "bjjg": "办理中",
            # the same instant written in two offsets: max must be compared as instants
            "updatedAt": "2024-03-02T02:00:00Z" if i == 0 else "2024-03-02T09:00:00+08:00",
        }
        for i in range(4)
    ]
    evaluations = [
        {"pjid": f"PJ{i}", "bjbh": f"BJ{i:06d}", "pjdj": 5, "pjnr": None, "pjsj": "2024-03-03T08:00:00+08:00"}
        for i in range(2)
    ]
    return {
        ("approval", "items"): items,
        ("approval", "cases"): cases,
        ("approval", "evaluations"): evaluations,
    }


def services_data() -> dict[tuple[str, str], list[dict[str, Any]]]:
    life = [
        {
            "fwbm": f"FW{i:04d}",
            "fwmc": "助餐",
            "fwlb": "助餐",
            "gysmc": "某公司",
            "gysUscc": None,
            "fwzd": [f"ZD{i}", "ZD9"],
            "sfzxyy": i % 2 == 0,
            "updatedAt": f"2024-03-01 1{i % 10}:00:00",
        }
        for i in range(5)
    ]
    sites = [
        {
            "zdid": f"ZD{i}",
            "zdmc": "党群服务中心",
            "zdlx": "党群服务中心",
            "dz": "某路1号",
            "sqmc": "前进社区",
            "jd": 114.3,
            "wd": 30.5,
            "updatedAt": "2024-03-01 08:00:00",
        }
        for i in range(3)
    ]
    orders = [
        {
            "ddbh": f"DD{i}",
            "fwbm": "FW0001",
            "xm": "王五",
            "dh": "13800000000",
            "dz": None,
            "xdsj": "2024-03-01 08:00:00",
            "wcsj": None,
            "zt": "待服务",
            "pf": None,
            "updatedAt": "2024-03-02 08:00:00",
        }
        for i in range(4)
    ]
    return {("services", "life_items"): life, ("services", "sites"): sites, ("services", "orders"): orders}


def run(tmp_path: Path, server: ApiServer, wh: Warehouse, system: str = "approval", **opts: Any):
    return extract_system(system, make_settings(tmp_path, http_source(server, system, **opts)), wh)


def table(system: str, name: str):
    return load_contract().table(system, name)


def test_paging_incremental_and_rerun(tmp_path: Path, api_server: ApiServer, wh: Warehouse) -> None:
    api_server.state.data.update(approval_data())
    entries = {e.table_name: e for e in run(tmp_path, api_server, wh, lookback_hours=0)}
    assert entries["items"].rows_read == 7 and entries["items"].rows_new == 7
    assert "3 page(s)" in (entries["items"].message or "")  # page_size 3
    assert raw_keys(wh, table("approval", "items")) == sorted(f"XK{i:05d}001" for i in range(7))
    assert wh.scalar("select sqrzjhm from raw_approval.cases where bjbh = 'BJ000001'") == "4.20103E+17"
    assert wh.scalar("select fdsx from raw_approval.items where sxbm = 'XK00000001'") == "20"
    # max cursor kept as the source wrote it; the Z and +08:00 values are the same instant
    assert get_cursor(wh, "approval", "items") == "2024-03-03T10:00:00+08:00"
    assert get_cursor(wh, "approval", "cases") in ("2024-03-02T02:00:00Z", "2024-03-02T09:00:00+08:00")

    api_server.state.requests.clear()
    again = run(tmp_path, api_server, wh, lookback_hours=0)
    assert sum(e.rows_new for e in again) == 0
    sent = [p for path, p in api_server.state.requests if path.endswith("/items")]
    assert sent[0]["updated_since"] == "2024-03-03T10:00:00+08:00"  # inclusive, as stored
    assert {e.table_name: e.rows_read for e in again}["items"] == 2  # the boundary rows again

    # a record changes by coming back with a later cursor
    api_server.state.data[("approval", "items")][0].update(sxmc="改名", updatedAt="2024-03-04T00:00:00+08:00")
    third = {e.table_name: e for e in run(tmp_path, api_server, wh, lookback_hours=0)}
    assert third["items"].rows_new == 1
    assert get_cursor(wh, "approval", "items") == "2024-03-04T00:00:00+08:00"
    # with the default 72 h lookback the request starts three days before the cursor
    api_server.state.requests.clear()
    run(tmp_path, api_server, wh)
    sent = [p for path, p in api_server.state.requests if path.endswith("/items")]
    assert sent[0]["updated_since"] == "2024-03-01T00:00:00+08:00"
    assert_ledger_reconciles(wh)


def test_services_api_key_local_time_and_added_field(
    tmp_path: Path, api_server: ApiServer, duck_wh: Warehouse
) -> None:
    data = services_data()
    data[("services", "sites")][1]["newField"] = {"a": 1}  # field added without notice
    api_server.state.data.update(data)
    entries = {e.table_name: e for e in run(tmp_path, api_server, duck_wh, "services")}
    assert entries["life_items"].rows_new == 5
    assert get_cursor(duck_wh, "services", "life_items") == "2024-03-01 14:00:00"
    assert duck_wh.scalar("select fwzd from raw_services.life_items where fwbm = 'FW0001'") == '["ZD1","ZD9"]'
    assert duck_wh.scalar("select sfzxyy from raw_services.life_items where fwbm = 'FW0000'") == "true"
    assert duck_wh.scalar("select newfield from raw_services.sites where zdid = 'ZD1'") == '{"a":1}'
    assert duck_wh.scalar("select jd from raw_services.sites where zdid = 'ZD1'") == "114.3"
    assert_ledger_reconciles(duck_wh)


def test_429_and_503_are_retried_without_duplicates(
    tmp_path: Path, api_server: ApiServer, duck_wh: Warehouse
) -> None:
    api_server.state.data.update(approval_data())
    api_server.state.faults[:] = [
        ("status", 429, {"Retry-After": "1"}),
        None,
        ("status", 503),
        ("status", 502),
    ]
    t0 = time.monotonic()
    entries = {e.table_name: e for e in run(tmp_path, api_server, duck_wh)}
    assert time.monotonic() - t0 >= 0.9, "Retry-After was not respected"
    assert entries["items"].rows_read == 7 and entries["items"].rows_quarantined == 0
    assert duck_wh.scalar("select count(*) from raw_approval.items") == 7
    assert duck_wh.scalar("select count(distinct sxbm) from raw_approval.items") == 7
    assert_ledger_reconciles(duck_wh)


def test_repeated_page_is_not_duplicated(tmp_path: Path, api_server: ApiServer, wh: Warehouse) -> None:
    api_server.state.data.update(approval_data())
    # request 1 = items page 1; request 2 asks for page 2 and gets page 1 again, then page 2 on the re-ask
    api_server.state.faults[:] = [None, ("repeat",)]
    entries = {e.table_name: e for e in run(tmp_path, api_server, wh)}
    items = entries["items"]
    assert items.rows_read == 7 and items.rows_new == 7 and items.rows_quarantined == 0
    assert "skipped 3 repeated record(s)" in (items.message or "")
    assert wh.scalar("select count(*) from raw_approval.items") == 7
    assert wh.scalar("select count(*) from ops.quarantine") == 0
    assert_ledger_reconciles(wh)


def test_down_past_retries_fails_cleanly(tmp_path: Path, api_server: ApiServer, wh: Warehouse) -> None:
    api_server.state.data.update(approval_data())
    run(tmp_path, api_server, wh)  # a first good load sets the cursors
    before = {t: get_cursor(wh, "approval", t) for t in ("items", "cases", "evaluations")}
    api_server.state.data[("approval", "items")].append(
        {
            **api_server.state.data[("approval", "items")][0],
            "sxbm": "XK99999001",
            "updatedAt": "2024-03-09T00:00:00+08:00",
        }
    )
    api_server.state.down = True
    with pytest.raises(ExtractError) as exc:
        run(tmp_path, api_server, wh, retries=2)
    assert len(exc.value.failures) == 3
    assert all(isinstance(f.error, SourceUnavailableError) for f in exc.value.failures)
    assert "retries" in str(exc.value) and "/approval/api/v1/items" in str(exc.value)
    assert {t: get_cursor(wh, "approval", t) for t in before} == before
    failed = wh.query("select batch_id from ops.load_ledger where status = 'failed'")
    assert len(failed) == 3
    assert wh.scalar("select count(*) from raw_approval.items where sxbm = 'XK99999001'") == 0
    assert_ledger_reconciles(wh)  # checks no raw/quarantine rows carry a failed batch id


def test_down_mid_resource_lands_nothing(tmp_path: Path, api_server: ApiServer, duck_wh: Warehouse) -> None:
    api_server.state.data.update(approval_data())
    # page 1 of items arrives, then the server stays down for longer than the retries
    api_server.state.faults[:] = [None] + [("status", 503)] * 4
    with pytest.raises(ExtractError) as exc:
        run(tmp_path, api_server, duck_wh, retries=2)
    assert [f.table for f in exc.value.failures] == ["items"]
    # the whole load rolled back: not even the raw table was created
    assert not duck_wh.scalar(
        "select count(*) from information_schema.tables "
        "where table_schema = 'raw_approval' and table_name = 'items'"
    )
    assert get_cursor(duck_wh, "approval", "items") is None
    assert get_cursor(duck_wh, "approval", "cases") is not None  # the other resources landed
    assert_ledger_reconciles(duck_wh)


def test_bad_credentials_and_missing_secret(
    tmp_path: Path, api_server: ApiServer, duck_wh: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    api_server.state.data.update(approval_data())
    monkeypatch.setenv("YIWANG_TEST_APPROVAL_TOKEN", "wrong")
    with pytest.raises(ExtractError, match="HTTP 401"):
        run(tmp_path, api_server, duck_wh)
    monkeypatch.delenv("YIWANG_TEST_APPROVAL_TOKEN")
    with pytest.raises(ExtractError, match="YIWANG_TEST_APPROVAL_TOKEN"):
        run(tmp_path, api_server, duck_wh)
