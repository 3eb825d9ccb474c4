"""Issue 12 (2, 4): files decode and parse line by line; wrong or ambiguous encodings never land silently;
quarantined lines are pseudonymised like everything else."""

from __future__ import annotations

from pathlib import Path

from connector_support import assert_ledger_reconciles, make_settings

from connectors.decoding import decode_lines
from connectors.run import extract_system
from yiwang.privacy import pseudonym
from yiwang.settings import SourceConfig
from yiwang.warehouse import Warehouse

HEADER = "小区名称,楼栋,单元,房间号,业主姓名,手机,身份证号\n"


def _settings(tmp_path: Path):
    return make_settings(tmp_path, SourceConfig("property", "files", path=tmp_path / "property"))


def _write(tmp_path: Path, rel: str, data: bytes) -> None:
    path = tmp_path / "property" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _ledger(wh: Warehouse, rel: str) -> tuple:
    return wh.query(
        "select rows_read, rows_landed, rows_quarantined, status, message, batch_id "
        "from ops.load_ledger where source_file = ? order by finished_at desc",
        [rel],
    )[0]


def test_big5_file_is_detected_and_lands_as_received(tmp_path: Path, wh: Warehouse) -> None:
    """A Big5 export read as GB18030 decodes without an error into mojibake: it must be recognised as Big5."""
    text = (
        "小區名稱,樓棟,單元,房間號,業主姓名,手機,身份證號\n"
        "幸福家園,3,2,501,張偉,13800138000,420106199001011234\n"
        "陽光小區,5,1,101,劉麗華,13900139000,42010619850505123X\n"
    )
    _write(tmp_path, "hk/2024-03/owners.csv", text.encode("big5"))
    (entry,) = extract_system("property", _settings(tmp_path), wh)
    assert (entry.rows_read, entry.rows_landed, entry.rows_quarantined) == (2, 2, 0)
    assert "big5" in (entry.message or "")
    rows = wh.query("select xqmc, yzxm, yzdh from raw_property.owners order by fh")
    # landed as received (traditional characters): staging normalises traditional to simplified names
    assert rows == [("陽光小區", "劉麗華", "13900139000"), ("幸福家園", "張偉", "13800138000")]
    assert_ledger_reconciles(wh)


def test_ambiguous_encoding_is_quarantined_whole_with_its_reason(tmp_path: Path, wh: Warehouse) -> None:
    # bytes that read as common characters both in GBK and in Big5 (啊阿 / 陛陝): no silent guess
    data = b"xqmc,ld,dy,fh,yzxm\n" + b"\xb0\xa1\xb0\xa2,1,1,101,\xc4\xe3\xba\xc3\n" * 3
    _write(tmp_path, "acme/2024-03/owners.csv", data)
    _write(
        tmp_path, "acme/2024-04/owners.csv", HEADER.encode("gbk") + "幸福家园,3,2,501,张伟,,\n".encode("gbk")
    )
    entries = {e.source_file: e for e in extract_system("property", _settings(tmp_path), wh)}
    bad = entries["acme/2024-03/owners.csv"]
    assert (bad.rows_read, bad.rows_landed, bad.rows_quarantined, bad.status) == (1, 0, 1, "success")
    rule, reason, row = wh.query(
        "select rule, reason, row_data from ops.quarantine where batch_id = ?", [bad.batch_id]
    )[0]
    assert rule == "encoding" and "ambiguous" in reason and "gb18030" in reason and "big5" in reason
    assert "lines" in row and "xb0" not in row  # the file described, not its content
    assert (
        wh.scalar("select count(*) from raw_property.owners where _source_file = 'acme/2024-03/owners.csv'")
        == 0
    )
    assert entries["acme/2024-04/owners.csv"].rows_landed == 1  # the next file is not affected
    assert_ledger_reconciles(wh)


def test_bad_lines_are_quarantined_alone_with_line_numbers_and_pseudonymised(
    tmp_path: Path, wh: Warehouse
) -> None:
    """One undecodable line, one UTF-8 line in a GBK file, a short row and a bad quote: each goes to quarantine
    alone with its line number, pseudonymised (ID numbers, mobiles, names); every readable row lands."""
    data = (
        HEADER.encode("gbk")
        + "幸福家园,3,2,501,张伟,13800138000,420106199001011234\n".encode("gbk")
        + "幸福家园,3,2,502,李娜,13900139000,".encode("gbk")
        + b"\x81\x30\xff\xfe 4201061985050512X1\n"
        + "江城桥华物业服务有限公司,3,2,503,王芳,13700137000,420106197001011111\n".encode()
        + "幸福家园,3,2,504,赵六,13600136000\n".encode("gbk")
        + '幸福家园,3,2,505,"孙七"x,13500135000,420106196001011234\n'.encode("gbk")
        + "幸福家园,3,2,506,周八,13400134000,4.20103E+17\n".encode("gbk")
    )
    _write(tmp_path, "acme/2024-03/owners.csv", data)
    (entry,) = extract_system("property", _settings(tmp_path), wh)
    assert (entry.rows_read, entry.rows_landed, entry.rows_quarantined) == (6, 2, 4)
    assert "gb18030" in (entry.message or "")
    assert wh.query("select fh, yzxm from raw_property.owners order by fh") == [
        ("501", "张伟"),
        ("506", "周八"),
    ]
    got = wh.query(
        "select rule, reason, row_data from ops.quarantine where batch_id = ? order by reason",
        [entry.batch_id],
    )
    assert [(r[0], r[1].split(":")[0]) for r in got] == [
        ("encoding", "line 3"),
        ("encoding", "line 4"),
        ("truncated_row", "line 5"),
        ("malformed_csv", "line 6"),
    ]
    assert "mis-encoded" in got[1][1] or "not valid gb18030" in got[1][1]
    data_text = " ".join(r[2] for r in got)
    for secret in (
        "李娜",
        "13900139000",
        "4201061985050512X1",
        "王芳",
        "13700137000",
        "420106197001011111",
        "赵六",
        "13600136000",
        "孙七",
        "13500135000",
        "420106196001011234",
    ):
        assert secret not in data_text, secret
    assert got[2][2] == "幸福家园,3,2,504," + pseudonym("赵六") + "," + pseudonym("13600136000")  # by column
    assert_ledger_reconciles(wh)


def test_mis_encoded_line_that_decodes_is_caught() -> None:
    """A UTF-8 line inside a GBK file can decode as GB18030 without an error: it reads as rare characters."""
    data = (
        HEADER.encode("gbk")
        + "幸福家园,3,2,501,张伟,,\n".encode("gbk")
        + "江城桥华物业服务有限公司,3,2,503,,,\n".encode()
        + "阳光小区,3,2,502,李娜,,\n".encode("gbk")
    )
    d = decode_lines(data)
    assert d.encoding == "gb18030"
    assert d.lines[2] is None and [(b.line, b.rule) for b in d.bad] == [(3, "encoding")]
    assert "mis-encoded" in d.bad[0].reason
    assert d.lines[3] == "阳光小区,3,2,502,李娜,,"
