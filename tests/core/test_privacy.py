from __future__ import annotations

from yiwang.privacy import (
    mask_id,
    mask_name,
    mask_phone,
    pseudonym,
    pseudonymise_csv_line,
    pseudonymise_row,
    pseudonymise_text,
    pseudonymise_values,
)

KEY = b"test-key"


def test_masks() -> None:
    assert mask_id("110105199001011234") == "110105********1234"
    assert mask_phone("13800135678") == "138****5678"
    assert mask_name("张伟") == "张*"
    assert mask_name("阿依古丽·买买提") == "阿*******"


def test_pseudonyms_are_keyed_and_stable() -> None:
    a = pseudonym("110105199001011234", KEY)
    assert a == pseudonym("110105199001011234", KEY)
    assert a != pseudonym("110105199001011234", b"other-key")
    assert "1234" not in a and a.startswith("hmac:")


def test_row_and_text_pseudonymisation() -> None:
    row = pseudonymise_row(
        {"rkid": "R1", "xm": "张伟", "sfzh": "110105199001011234", "wgbm": "420106001001001"}, KEY
    )
    assert row["rkid"] == "R1" and row["wgbm"] == "420106001001001"
    assert row["xm"].startswith("hmac:") and row["sfzh"].startswith("hmac:")
    text = pseudonymise_text('{"gdbh": "G1", "lddh": "13800135678", broken', KEY)
    assert "13800135678" not in text and '"gdbh": "G1"' in text


def test_text_pseudonymisation_is_precise() -> None:
    """ID numbers (18/15 digits, valid area and birth date, in the forms exports write them), masked and
    Excel-mangled IDs and mobiles are pseudonymised; ticket numbers, dates, grid/division codes are not."""
    secrets = [
        "420106199001011234",
        "42010619900101123X",
        "42010619900101123x",
        "420106 1990 0101 1234",
        "420106-19900101-1234",
        "４２０１０６１９９００１０１１２３４",
        "420106900101123",  # legacy 15
        "420106********1234",
        "4.20103E+17",
        "13800138000",
        "+86 138-0013-8000",
        "8613800138000",
        "138 0013 8000",
        "0086 13912345678",
    ]
    kept = [
        "GD202403010001",
        "12345",
        "2024-03-01 08:00:00",
        "20240301",
        "2024年3月1日",
        "420106001001003",
        "420106001001",
        "202403011234567890",
        "91420100MA4K0000XX",
        "TS1202401000012",
        "1234567.89",
        "(027)85551234",
        "1709251200000",
        "420106001001003001",
    ]
    for s in secrets:
        out = pseudonymise_text(f"备注: {s}。", KEY)
        assert out.startswith("备注: hmac:") and out.endswith("。"), (s, out)
    for s in kept:
        assert pseudonymise_text(f"备注: {s}。", KEY) == f"备注: {s}。", s
    # one pseudonym per person, whatever the form
    assert pseudonymise_text("420106 1990 0101 123x", KEY) == pseudonymise_text("42010619900101123X", KEY)
    assert pseudonymise_text("+86 138-0013-8000", KEY) == pseudonymise_text("13800138000", KEY)
    # "field": "value" pairs of personal fields in a line that is not valid JSON, the value cut off too
    line = '{"gdbh": "GD202403010001", "ldr": "张伟", "nr": "楼上噪音 2024-03-01", "xm": "李'
    out = pseudonymise_text(line, KEY)
    assert "张伟" not in out and '"xm": "李' not in out
    assert '"gdbh": "GD202403010001"' in out and '"nr": "楼上噪音 2024-03-01"' in out


def test_row_and_line_pseudonymisation_by_column() -> None:
    row = pseudonymise_row(
        {
            "tsbh": "TS1202401000012",
            "备注": "业主电话13800138000",
            "jd": 114.3,
            "newfield": ["13900139000", "x"],
        },
        KEY,
    )
    assert row["tsbh"] == "TS1202401000012" and row["jd"] == 114.3
    assert "13800138000" not in row["备注"] and row["备注"].startswith("业主电话hmac:")
    assert row["newfield"][0].startswith("hmac:") and row["newfield"][1] == "x"
    cols = ["xqmc", "fh", "yzxm", "yzdh"]
    assert pseudonymise_csv_line("幸福家园,3-2-501,张伟", cols, KEY) == "幸福家园,3-2-501," + pseudonym(
        "张伟", KEY
    )
    # more cells than the header: positions cannot be trusted, every cell is pseudonymised
    shifted = pseudonymise_csv_line("幸福家园,3,2-501,张伟,13800138000", cols, KEY)
    assert "张伟" not in shifted and "13800138000" not in shifted and "幸福家园" not in shifted
    assert pseudonymise_values(["幸福家园", "张伟", None], ["xqmc", "yzxm", "yzdh"], KEY) == [
        "幸福家园",
        pseudonym("张伟", KEY),
        None,
    ]
