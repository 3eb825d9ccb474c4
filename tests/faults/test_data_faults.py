"""Data faults at pipeline level: schema drift (added, retyped, dropped columns), malformed file inputs,
quarantine → fix at the source → requeue → re-extract, and stale sources."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from faultkit import Hub

from connectors.errors import ExtractError
from expectations.run import GateFailed
from yiwang.freshness import StaleSourcesError, check_freshness, freshness_target_path
from yiwang.settings import get_settings


def _rewrite_items(sources: Path, **changes: object) -> None:
    path = sources / "api" / "approval" / "items.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    latest = max(r["updatedAt"] for r in rows)
    stamp = latest[:11] + "23:59:59" + latest[19:]
    path.write_text(
        "".join(json.dumps(dict(r, updatedAt=stamp, **changes), ensure_ascii=False) + "\n" for r in rows),
        encoding="utf-8",
    )


@pytest.mark.slow
def test_schema_drift_added_retyped_dropped(hub: Hub) -> None:
    import sqlite3

    hub.serve(extra_field="kzzd")  # a source adds a column: lands, run stays green
    hub.extract()
    hub.build()
    with hub.wh() as wh:
        assert wh.scalar("select count(*) from raw_approval.items where kzzd = 'x'") == 132
    good = hub.marts_checksum()

    _rewrite_items(hub.sources, fdsx="二十个工作日")  # retyped: int -> text, in a new batch of every item
    hub.serve()
    hub.extract("approval")
    with pytest.raises(GateFailed) as exc:
        hub.build()
    msg = str(exc.value)
    assert (
        "schema drift" in msg and "system approval" in msg and "raw_approval.items" in msg and "fdsx" in msg
    )
    assert hub.marts_checksum() == good  # the last good marts stay for readers

    con = sqlite3.connect(
        hub.sources / "grid.sqlite"
    )  # dropped at a SQL source: the extract fails, naming it
    con.execute("alter table wg_grid drop column wgmc")
    con.commit()
    con.close()
    with pytest.raises(ExtractError) as exc2:
        hub.extract("grid")
    assert "grid.wg_grid" in str(exc2.value) and "wgmc" in str(exc2.value)
    assert hub.marts_checksum() == good


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_malformed_files_land_or_quarantine_then_requeue(hub: Hub) -> None:
    import openpyxl

    hot = hub.sources / "landing" / "hotline"
    seen = _ticket_lines(hot)  # a day whose first ticket is on no other line (the simulator repeats tickets)
    day = next(
        p
        for p in sorted(hot.glob("*.jsonl"))
        if _clean_jsonl(p)
        and seen.get(json.loads(p.read_text(encoding="utf-8").splitlines()[0])["gdbh"]) == 1
    )
    lines = day.read_text(encoding="utf-8").splitlines()
    good_line = lines[0]
    gdbh = json.loads(good_line)["gdbh"]
    day.write_text("\n".join([good_line[:-7]] + lines[1:]) + "\n", encoding="utf-8")  # a bad JSONL line
    prop = hub.sources / "landing" / "property" / "faultco" / "2026-01"
    prop.mkdir(parents=True)
    (prop / "owners.csv").write_bytes(
        "小区名称,楼栋,单元,房号,业主姓名,身份证号\n幸福家园,1,1,101,张伟,4.20103E+17\n幸福家园,1,1,1".encode(
            "gbk"
        )
    )
    (prop / "complaints.csv").write_bytes(b"")
    wb = openpyxl.Workbook()
    wb.active.append(["小区名称", "地址", "物业公司"])
    wb.active.append(["幸福家园", "某路1号", "安家物业"])
    wb.create_sheet("说明").append(["填表说明"])
    wb.save(prop / "estates.xlsx")
    (hub.sources / "landing" / "property" / "faultco" / "2026-02").mkdir()
    (hub.sources / "landing" / "property" / "faultco" / "2026-02" / "owners.csv").write_bytes(
        b"\x81\x30\xff\xfe,\xfd\n"
    )

    hub.cli("extract", "hotline", "property")  # nothing crashes
    hub.check_ledger()
    with hub.wh() as wh:
        rules = dict(
            wh.query(
                "select rule, count(*) from ops.quarantine where source_file in (?, ?, ?) group by rule",
                [day.name, "faultco/2026-01/owners.csv", "faultco/2026-02/owners.csv"],
            )
        )
        assert rules == {"malformed_json": 1, "truncated_row": 1, "encoding": 1}, rules
        assert all(r for (r,) in wh.query("select reason from ops.quarantine"))
        assert (
            wh.scalar(
                "select yzzjhm from raw_property.owners where _source_file = 'faultco/2026-01/owners.csv'"
            )
            == "4.20103E+17"
        )
        assert wh.scalar("select count(*) from raw_property.estates where _source_file like 'faultco/%'") == 1
        assert wh.scalar("select count(*) from raw_hotline.tickets where gdbh = ?", [gdbh]) == 0
    listed = (
        hub.cli("quarantine", "list", "--system", "hotline").stdout
        + hub.cli("quarantine", "list", "--system", "hotline").stderr
    )
    assert "malformed_json" in listed

    day.write_text("\n".join(lines) + "\n", encoding="utf-8")  # fixed at the source
    hub.cli("quarantine", "requeue", "--system", "hotline")
    hub.cli("extract", "hotline")
    hub.check_ledger()
    with hub.wh() as wh:
        assert wh.scalar("select count(*) from raw_hotline.tickets where gdbh = ?", [gdbh]) == 1
        dup = wh.scalar(
            "select count(*) from (select _row_hash from raw_hotline.tickets group by 1 "
            "having count(*) > 1) d"
        )
        assert dup == 0
        assert (
            wh.scalar(
                "select status from ops.quarantine where rule = 'malformed_json' and source_file = ?",
                [day.name],
            )
            == "requeued"
        )


def test_stale_system_fails_freshness_naming_it(hub: Hub) -> None:
    hub.extract()
    assert check_freshness().success
    # its dbt state stays in its own target path: in the docs site's (`dbt docs generate`, run without the
    # freshness vars) each of the two commands parsed the whole project again on every build
    site = get_settings().site_dir / "dbt"
    assert (site / "sources.json").exists() and not (site / "partial_parse.msgpack").exists()
    work = freshness_target_path(get_settings())
    assert (work / "partial_parse.msgpack").exists()
    # dbt writes none of its JSON artifacts there (the whole manifest, twice, that nothing read): sources.json is
    # written from dbt's result, as dbt writes it, and copied into the site
    assert not (work / "manifest.json").exists() and not (work / "run_results.json").exists()
    fresh = json.loads((site / "sources.json").read_text(encoding="utf-8"))
    assert fresh["metadata"]["dbt_schema_version"].endswith("/sources/v3.json")
    assert {r["status"] for r in fresh["results"]} == {"pass"} and len(fresh["results"]) >= 20
    assert (work / "sources.json").read_bytes() == (site / "sources.json").read_bytes()
    old = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(hours=30)  # grid: error after 24 h
    with hub.wh() as wh, wh.transaction() as tx:
        for (t,) in tx.query(
            "select table_name from information_schema.tables where table_schema = 'raw_grid'"
        ):
            tx.execute(f'update raw_grid."{t}" set _loaded_at = ?', [old])
    with pytest.raises(StaleSourcesError) as exc:
        check_freshness()
    assert list(exc.value.result.stale) == ["grid"]
    assert "grid" in str(exc.value) and "raw_grid.wg_syrk" in str(exc.value)


def _ticket_lines(folder: Path) -> dict[str, int]:
    """How many lines of all the day files carry each ticket number."""
    counts: dict[str, int] = {}
    for path in folder.glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                gdbh = json.loads(line).get("gdbh")
            except (ValueError, AttributeError):
                continue
            counts[gdbh] = counts.get(gdbh, 0) + 1
    return counts


def _clean_jsonl(path: Path) -> bool:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    try:
        return len(lines) >= 2 and all(isinstance(json.loads(line), dict) for line in lines)
    except ValueError:
        return False
