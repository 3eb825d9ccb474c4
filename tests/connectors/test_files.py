"""File connector: real GBK / UTF-8-BOM CSV, XLSX (openpyxl) and JSONL drops in tmp_path."""

from __future__ import annotations

import json
import os
from pathlib import Path

import openpyxl
import pytest
from connector_support import assert_ledger_reconciles, make_settings

from connectors.errors import ExtractError
from connectors.run import extract_system
from yiwang.privacy import pseudonym
from yiwang.settings import SourceConfig
from yiwang.warehouse import Warehouse


def write(path: Path, data: bytes | str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def property_settings(tmp_path: Path):
    return make_settings(tmp_path, SourceConfig("property", "files", path=tmp_path / "property"))


def hotline_settings(tmp_path: Path):
    return make_settings(tmp_path, SourceConfig("hotline", "files", path=tmp_path / "hotline"))


def ledger(wh: Warehouse, source_file: str) -> tuple:
    return wh.query(
        "select rows_read, rows_landed, rows_new, rows_quarantined, status, message, batch_id "
        "from ops.load_ledger where source_file = ? order by finished_at",
        [source_file],
    )[-1]


OWNERS_GBK = (
    "小区名称,楼栋,单元,房间号,业主姓名,手机,身份证号,建筑面积（㎡）,车位号\r\n"
    "幸福家园,3,2,501,张伟,13800138000,420106199001011234,89.5,B-12\r\n"
    "幸福家园,3,2,502,李娜,13900139000,4.20103E+17,92,\r\n"
)


def test_property_csv_xlsx_and_faults(tmp_path: Path, wh: Warehouse) -> None:
    root = tmp_path / "property"
    # GBK owners with header variants, a unit-suffixed header and an extra column
    write(root / "acme/2024-03/owners.csv", OWNERS_GBK, "gbk")
    # UTF-8 with BOM, other variants, merged room column "3-2-501", a truncated last row
    write(
        root / "beta/2024-03/owners.csv",
        "\ufeff 项目 ,房号,姓名,联系电话,证件号码\n阳光小区,3-2-501,王芳,13700137000,420106********1234\n"
        "阳光小区,5-1-101,赵",
    )
    # estates as XLSX: a title row, numbers as numbers, an extra sheet
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "小区信息"
    ws.append(["2024年3月小区报送表"])
    ws.append(
        [
            "小区名称",
            "地址",
            "所属社区",
            "物业公司",
            "统一社会信用代码",
            "总户数",
            "楼栋数",
            "建成年份",
            "备注",
        ]
    )
    ws.append(["幸福家园", "某路1号", "前进社区", "安家物业", "91420100MA4K0000XX", 320, 8, 1990.0, None])
    ws.append(["阳光小区", "某路2号", "前进社区", "安家物业", "91420100MA4K0000XX", 120.0, 3, 2005, "新"])
    wb.create_sheet("说明").append(["填表说明", "请勿修改表头"])
    (root / "acme/2024-03").mkdir(parents=True, exist_ok=True)
    wb.save(root / "acme/2024-03/estates.xlsx")
    # an empty file, a header-only file, an undecodable file
    write(root / "acme/2024-03/complaints.csv", b"")
    write(root / "beta/2024-03/complaints.csv", "投诉编号,小区名称,投诉人\n")
    write(
        root / "gamma/2024-03/owners.csv",
        "小区名称,房号\n幸福家园,1\n".encode("gbk") + b"\x81\x30\xff\xfe\xfd,1\n",
    )

    entries = extract_system("property", property_settings(tmp_path), wh)
    assert len(entries) == 6

    # GBK decoded right, header variants mapped, ID text kept exactly, extra column landed
    rows = wh.query(
        "select xqmc, ld, dy, fh, yzxm, yzdh, yzzjhm, mj, _source_file, 车位号 "
        "from raw_property.owners where _source_file = 'acme/2024-03/owners.csv' order by fh"
    )
    assert rows[0] == (
        "幸福家园",
        "3",
        "2",
        "501",
        "张伟",
        "13800138000",
        "420106199001011234",
        "89.5",
        "acme/2024-03/owners.csv",
        "B-12",
    )
    assert rows[1][6] == "4.20103E+17"
    assert "gb18030" in ledger(wh, "acme/2024-03/owners.csv")[5]

    # merged room column lands as-is in fh; the truncated row is quarantined with a reason
    beta = wh.query(
        "select xqmc, ld, fh, yzzjhm from raw_property.owners where _source_file = 'beta/2024-03/owners.csv'"
    )
    assert beta == [("阳光小区", None, "3-2-501", "420106********1234")]
    read, landed, _, quarantined, status, _, batch = ledger(wh, "beta/2024-03/owners.csv")
    assert (read, landed, quarantined, status) == (2, 1, 1, "success")
    rule, reason, data = wh.query(
        "select rule, reason, row_data from ops.quarantine where batch_id = ?", [batch]
    )[0]
    assert rule == "truncated_row" and "truncated" in reason and reason.startswith("line 3:")
    # the raw line, its cells pseudonymised by the column they sit in (yzxm: the owner's name)
    assert data == "阳光小区,5-1-101," + pseudonym("赵")

    # XLSX: numbers as text without .0, title row skipped, extra sheet noted
    est = dict(wh.query("select xqmc, jcnf from raw_property.estates"))
    assert est == {"幸福家园": "1990", "阳光小区": "2005"}
    assert wh.scalar("select hs from raw_property.estates where xqmc = '阳光小区'") == "120"
    assert wh.scalar("select 备注 from raw_property.estates where xqmc = '阳光小区'") == "新"
    msg = ledger(wh, "acme/2024-03/estates.xlsx")[5]
    assert "说明" in msg and "ignored sheet" in msg

    # empty and header-only files: success, 0 read, "empty file"
    for f in ("acme/2024-03/complaints.csv", "beta/2024-03/complaints.csv"):
        read, landed, _, quarantined, status, msg, _ = ledger(wh, f)
        assert (read, landed, quarantined, status) == (0, 0, 0, "success") and msg.startswith("empty file")

    # one undecodable line: quarantined alone with its line number, the readable row lands
    read, landed, _, quarantined, status, _, batch = ledger(wh, "gamma/2024-03/owners.csv")
    assert (read, landed, quarantined, status) == (2, 1, 1, "success")
    assert wh.query("select rule, reason from ops.quarantine where batch_id = ?", [batch]) == [
        ("encoding", "line 3: not valid gb18030 (illegal multibyte sequence at byte 0)")
    ]
    assert wh.query(
        "select xqmc, fh from raw_property.owners where _source_file = 'gamma/2024-03/owners.csv'"
    ) == [("幸福家园", "1")]

    # rerun: every file skipped, nothing changes
    assert extract_system("property", property_settings(tmp_path), wh) == []
    assert_ledger_reconciles(wh)


def test_resent_file_is_a_new_batch(tmp_path: Path, wh: Warehouse) -> None:
    root = tmp_path / "property"
    f = write(root / "acme/2024-03/owners.csv", OWNERS_GBK, "gbk")
    (first,) = extract_system("property", property_settings(tmp_path), wh)
    assert first.rows_new == 2
    # same content again: skipped
    assert extract_system("property", property_settings(tmp_path), wh) == []
    # re-sent with a correction and an extra row: a new batch; unchanged rows are already in raw
    corrected = OWNERS_GBK.replace("李娜", "李娜娜") + "幸福家园,3,2,503,周杰,13600136000,,70,\r\n"
    write(f, corrected, "gbk")
    os.utime(f, (f.stat().st_atime, f.stat().st_mtime + 60))
    (second,) = extract_system("property", property_settings(tmp_path), wh)
    assert second.batch_id != first.batch_id
    assert (second.rows_read, second.rows_landed, second.rows_new) == (3, 3, 2)
    assert wh.scalar("select count(*) from raw_property.owners where _batch_id = ?", [second.batch_id]) == 2
    assert wh.scalar("select count(distinct _batch_id) from raw_property.owners") == 2
    state = wh.query("select checksum, batch_id from ops.file_state where system = 'property'")
    assert len(state) == 1 and state[0][1] == second.batch_id
    assert extract_system("property", property_settings(tmp_path), wh) == []
    assert_ledger_reconciles(wh)


def test_hotline_jsonl(tmp_path: Path, wh: Warehouse) -> None:
    root = tmp_path / "hotline"
    base = {
        "ldsj": "2024-03-01 08:00:00",
        "qd": "电话",
        "sqlx": "投诉",
        "sqlb": "噪音",
        "nr": "楼上装修噪音",
        "gxsj": "2024-03-01 09:00:00",
    }
    lines = [
        json.dumps({"gdbh": "GD001", **base}, ensure_ascii=False),
        json.dumps({"gdbh": "GD002", **base, "cfgd": "GD001", "newField": [1, 2]}, ensure_ascii=False),
        json.dumps({"gdbh": "GD002", **base, "cfgd": "GD001", "newField": [1, 2]}, ensure_ascii=False),  # dup
        '{"gdbh": "GD003", "nr": "断行',  # malformed
        "[1, 2, 3]",  # not an object
        json.dumps({"nr": "无工单号"}, ensure_ascii=False),  # no key
        "",
    ]
    write(root / "2024-03-01.jsonl", "\n".join(lines) + "\n")
    write(root / "2024-03-02.jsonl", json.dumps({"gdbh": "GD010", **base}, ensure_ascii=False) + "\n")
    entries = {e.source_file: e for e in extract_system("hotline", hotline_settings(tmp_path), wh)}
    day1 = entries["2024-03-01.jsonl"]
    assert (day1.rows_read, day1.rows_landed, day1.rows_quarantined) == (6, 2, 4)
    rules = dict(wh.query("select rule, row_data from ops.quarantine where batch_id = ?", [day1.batch_id]))
    assert set(rules) == {"malformed_json", "not_an_object", "missing_key", "duplicate_in_batch"}
    assert rules["malformed_json"] == '{"gdbh": "GD003", "nr": "断行'
    assert wh.scalar("select newfield from raw_hotline.tickets where gdbh = 'GD002'") == "[1,2]"
    assert wh.scalar("select nr from raw_hotline.tickets where gdbh = 'GD001'") == "楼上装修噪音"
    # the day re-exported with more rows: a new batch, only the new ticket is new
    with (root / "2024-03-02.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps({"gdbh": "GD011", **base}, ensure_ascii=False) + "\n")
    (again,) = extract_system("hotline", hotline_settings(tmp_path), wh)
    assert again.source_file == "2024-03-02.jsonl" and again.rows_new == 1 and again.rows_read == 2
    assert_ledger_reconciles(wh)


def test_unrecognised_file_does_not_stop_the_others(tmp_path: Path, duck_wh: Warehouse) -> None:
    root = tmp_path / "property"
    write(root / "acme/2024-03/readme.csv", "a,b\n1,2\n")
    write(root / "acme/2024-03/owners.csv", OWNERS_GBK, "gbk")
    write(root / "acme/2024-03/notes.txt", "ignored: not a data file")
    with pytest.raises(ExtractError) as exc:
        extract_system("property", property_settings(tmp_path), duck_wh)
    assert [f.table for f in exc.value.failures] == ["acme/2024-03/readme.csv"]
    assert "cannot tell the kind" in str(exc.value)
    assert [e.source_file for e in exc.value.entries] == ["acme/2024-03/owners.csv"]
    assert duck_wh.scalar("select count(*) from raw_property.owners") == 2
    assert_ledger_reconciles(duck_wh)


def test_missing_landing_directory(tmp_path: Path, duck_wh: Warehouse) -> None:
    with pytest.raises(Exception, match="landing directory .* does not exist"):
        extract_system("hotline", hotline_settings(tmp_path), duck_wh)
