"""Unit tests of the CSV/XLSX readers: encodings, header variants, cell text."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from connector_support import assert_ledger_reconciles, make_settings

from connectors.run import extract_system
from connectors.tabular import HeaderMap, UndecodableFile, cell_text, decode_bytes, decode_lines, parse_csv
from yiwang.contracts import load_contract
from yiwang.settings import SourceConfig
from yiwang.warehouse import Warehouse

OWNERS = load_contract().table("property", "owners")


def test_decode_is_deterministic() -> None:
    text = "小区名称,业主姓名\n幸福家园,张伟\n"
    assert decode_bytes(text.encode("utf-8")) == (text, "utf-8")
    assert decode_bytes(b"\xef\xbb\xbf" + text.encode("utf-8")) == (text, "utf-8-sig")
    assert decode_bytes(text.encode("gbk")) == (text, "gb18030")
    # a truncated file can cut a multi-byte character: still UTF-8, not mis-read as GB18030; the cut line is bad
    cut = decode_lines(text.encode("utf-8")[:-2])
    assert cut.encoding == "utf-8" and cut.lines == ["小区名称,业主姓名", None]
    assert [(b.line, b.rule) for b in cut.bad] == [(2, "truncated_row")]
    # one bad line: reported alone with its line number
    one = decode_lines(b"name,id\n\x81\x30\xff\xfe\xfd,1\nok,2\n")
    assert one.lines == ["name,id", None, "ok,2"] and [b.line for b in one.bad] == [2]
    with pytest.raises(UndecodableFile):  # nothing decodes, not even the header
        decode_bytes(b"\x81\x30\xff\xfe,\xfd\n")


def test_header_variants() -> None:
    h = HeaderMap(OWNERS)
    assert h.canonical(" 房间号 ") == "fh"
    assert h.canonical("身份证号") == "yzzjhm"
    assert h.canonical("建筑面积（㎡）") == "mj"  # full-width parentheses and a unit suffix
    assert h.canonical("建筑面积(平方米)") == "mj"
    assert h.canonical("联 系 电 话") == "yzdh"
    assert h.canonical("yzxm") == "yzxm"  # canonical names themselves
    assert h.canonical("车位号") is None
    assert h.resolve(["手机", "电话", "车位号", None]) == ["yzdh", "电话", "车位号", "column_4"]


def test_csv_values_are_never_typed() -> None:
    data = "小区名称,房号,证件号码,建筑面积\n幸福家园,0501,4.20103E+17,089.50\n".encode()
    parsed = parse_csv(data, OWNERS)
    assert parsed.rows == [{"xqmc": "幸福家园", "fh": "0501", "yzzjhm": "4.20103E+17", "mj": "089.50"}]


def test_unterminated_quote_is_quarantined() -> None:
    data = '小区名称,房号,业主姓名\n幸福家园,501,张伟\n幸福家园,502,"李\n'.encode()
    parsed = parse_csv(data, OWNERS)
    assert len(parsed.rows) == 1
    (bad,) = parsed.rejected
    assert bad.rule == "truncated_row" and "unterminated quote" in bad.reason


def test_cell_text() -> None:
    assert cell_text(1990.0) == "1990"
    assert cell_text(89.5) == "89.5"
    assert cell_text(420106199001011234) == "420106199001011234"
    # an 18-digit ID in a number cell lost digits: shown as Excel shows it, never expanded into made-up digits
    assert cell_text(4.20103e17) == "4.20103E+17"
    assert cell_text(float(420104199108250264)) == "4.2010419910825E+17"
    assert cell_text(999999999999999.0) == "999999999999999"
    assert cell_text(True) == "true"
    assert cell_text(dt.datetime(2024, 3, 1), "yyyy-mm-dd") == "2024-03-01"
    assert cell_text(dt.datetime(2024, 3, 1, 8, 30), "yyyy-mm-dd h:mm") == "2024-03-01 08:30:00"


def test_xlsx_ids_and_unreadable_workbook(tmp_path: Path, duck_wh: Warehouse) -> None:
    d = tmp_path / "property/acme/2024-04"
    d.mkdir(parents=True)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["项目", "栋", "单元", "室", "客户名称", "身份证号", "交房日期"])
    ws.append(["幸福家园", 3, 2, 501, "张伟", "420106199001011234", dt.datetime(2019, 6, 1)])
    ws.append(["幸福家园", 3, 2, 502, "李娜", "4.20103E+17", dt.datetime(2019, 6, 2)])
    ws["G2"].number_format = "yyyy-mm-dd"
    ws["G3"].number_format = "yyyy-mm-dd"
    wb.save(d / "owners.xlsx")
    (d / "complaints.xlsx").write_bytes((d / "owners.xlsx").read_bytes()[:200])  # truncated workbook
    settings = make_settings(tmp_path, SourceConfig("property", "files", path=tmp_path / "property"))
    entries = {e.source_file: e for e in extract_system("property", settings, duck_wh)}
    assert entries["acme/2024-04/owners.xlsx"].rows_new == 2
    rows = duck_wh.query("select ld, dy, fh, yzzjhm, rzrq from raw_property.owners order by fh")
    assert rows == [
        ("3", "2", "501", "420106199001011234", "2019-06-01"),
        ("3", "2", "502", "4.20103E+17", "2019-06-02"),
    ]
    bad = entries["acme/2024-04/complaints.xlsx"]
    assert (bad.rows_read, bad.rows_quarantined, bad.status) == (1, 1, "success")
    assert (
        duck_wh.scalar("select rule from ops.quarantine where batch_id = ?", [bad.batch_id])
        == "unreadable_file"
    )
    assert_ledger_reconciles(duck_wh)
