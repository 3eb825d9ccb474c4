"""Issue 12 (3, 5): the latest delivery of a path wins whatever its content hash; a file missing a required
column fails loudly and alone."""

from __future__ import annotations

import os
from pathlib import Path

import openpyxl
import pytest
from connector_support import assert_ledger_reconciles, make_settings

from connectors.errors import ExtractError
from connectors.run import extract_system
from yiwang.settings import SourceConfig
from yiwang.warehouse import Warehouse

HEADER = "小区名称,楼栋,单元,房间号,业主姓名,手机\n"
A = HEADER + "幸福家园,3,2,501,张伟,13800138000\n幸福家园,3,2,502,李娜,13900139000\n"
B = HEADER + "幸福家园,3,2,501,张伟,13800000000\n幸福家园,3,2,502,李娜娜,13900139000\n"


def _settings(tmp_path: Path):
    return make_settings(tmp_path, SourceConfig("property", "files", path=tmp_path / "property"))


def _deliver(path: Path, text: str, step: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("gbk"))
    os.utime(path, (1_700_000_000 + step, 1_700_000_000 + step))


def _staged(wh: Warehouse) -> dict[str, tuple[str, str]]:
    """What staging's latest_version macro picks for property owners (no cursor): per key the row with the
    latest _loaded_at, then _source_file, then _row_hash."""
    rows = wh.query(
        "select fh, yzxm, yzdh from (select fh, yzxm, yzdh, row_number() over (partition by xqmc, ld, dy, fh "
        "order by _loaded_at desc, _source_file desc, _row_hash desc) as rk from raw_property.owners) v "
        "where rk = 1 order by fh"
    )
    return {fh: (name, phone) for fh, name, phone in rows}


def test_delivery_order_decides_a_then_b_then_a_again(tmp_path: Path, wh: Warehouse) -> None:
    path = tmp_path / "property/acme/2024-03/owners.csv"
    settings = _settings(tmp_path)
    _deliver(path, A, 1)
    (first,) = extract_system("property", settings, wh)
    _deliver(path, B, 2)  # corrected
    (second,) = extract_system("property", settings, wh)
    assert _staged(wh) == {"501": ("张伟", "13800000000"), "502": ("李娜娜", "13900139000")}
    _deliver(path, A, 3)  # the correction reverted: A again, a content hash seen before
    (third,) = extract_system("property", settings, wh)
    assert len({first.batch_id, second.batch_id, third.batch_id}) == 3  # a fresh batch, never A's again
    assert (third.rows_read, third.rows_landed, third.rows_new, third.rows_quarantined) == (2, 2, 2, 0)
    assert _staged(wh) == {"501": ("张伟", "13800138000"), "502": ("李娜", "13900139000")}
    latest_b = wh.scalar(
        "select max(_loaded_at) from raw_property.owners where _batch_id = ?", [second.batch_id]
    )
    assert (
        wh.scalar("select min(_loaded_at) from raw_property.owners where _batch_id = ?", [third.batch_id])
        > latest_b
    )
    state = wh.query("select batch_id from ops.file_state where system = 'property'")
    assert state == [(third.batch_id,)]
    # the same rows again under another checksum (a trailing blank line): already the path's latest, nothing new
    _deliver(path, A + "\n", 4)
    (fourth,) = extract_system("property", settings, wh)
    assert (fourth.rows_read, fourth.rows_landed, fourth.rows_new) == (2, 2, 0)
    assert _staged(wh) == {"501": ("张伟", "13800138000"), "502": ("李娜", "13900139000")}
    assert extract_system("property", settings, wh) == []  # unchanged: skipped
    assert_ledger_reconciles(wh)


def test_missing_required_column_fails_that_file_only(tmp_path: Path, wh: Warehouse) -> None:
    root = tmp_path / "property"
    # owners without a room column (fh, after mapping 房号/房间号/室): the key cannot be formed
    _deliver(
        root / "acme/2024-03/owners.csv",
        "小区名称,楼栋,单元,业主姓名,手机\n幸福家园,3,2,张伟,13800138000\n",
        1,
    )
    # estates as XLSX without any estate-name column
    wb = openpyxl.Workbook()
    wb.active.append(["地址", "所属社区", "物业公司", "总户数"])
    wb.active.append(["某路1号", "前进社区", "安家物业", 320])
    (root / "acme/2024-03").mkdir(parents=True, exist_ok=True)
    wb.save(root / "acme/2024-03/estates.xlsx")
    # a good file in the same run, and a merged room column (building/unit in fh: contract dirt, not missing)
    _deliver(root / "beta/2024-03/owners.csv", "项目,房号,姓名\n阳光小区,3-2-501,王芳\n", 2)
    with pytest.raises(ExtractError) as exc:
        extract_system("property", _settings(tmp_path), wh)
    assert sorted(f.table for f in exc.value.failures) == [
        "acme/2024-03/estates.xlsx",
        "acme/2024-03/owners.csv",
    ]
    assert [e.source_file for e in exc.value.entries] == ["beta/2024-03/owners.csv"]
    failed = dict(wh.query("select source_file, message from ops.load_ledger where status = 'failed'"))
    assert "required column(s) fh missing" in failed["acme/2024-03/owners.csv"]
    assert "xqmc" in failed["acme/2024-03/estates.xlsx"]
    assert wh.scalar("select count(*) from raw_property.owners where _source_file like 'acme/%'") == 0
    assert wh.scalar("select count(*) from ops.quarantine") == 0
    assert wh.query("select xqmc, ld, fh from raw_property.owners") == [("阳光小区", None, "3-2-501")]
    assert_ledger_reconciles(wh)
    # not recorded as delivered: read again (and failing again) on the next run, until fixed at the source
    with pytest.raises(ExtractError):
        extract_system("property", _settings(tmp_path), wh)
    _deliver(
        root / "acme/2024-03/owners.csv",
        "小区名称,楼栋,单元,房号,业主姓名,手机\n幸福家园,3,2,501,张伟,13800138000\n",
        3,
    )
    with pytest.raises(ExtractError) as exc:
        extract_system("property", _settings(tmp_path), wh)
    assert [f.table for f in exc.value.failures] == ["acme/2024-03/estates.xlsx"]
    assert [e.source_file for e in exc.value.entries] == ["acme/2024-03/owners.csv"]
    assert (
        wh.scalar("select count(*) from raw_property.owners where _source_file = 'acme/2024-03/owners.csv'")
        == 1
    )
    assert_ledger_reconciles(wh)
