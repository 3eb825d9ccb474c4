from __future__ import annotations

from yiwang.privacy import mask_id, mask_name, mask_phone, pseudonym, pseudonymise_row, pseudonymise_text

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
    row = pseudonymise_row({"rkid": "R1", "xm": "张伟", "sfzh": "110105199001011234", "wgbm": "420106001001001"},
                           KEY)
    assert row["rkid"] == "R1" and row["wgbm"] == "420106001001001"
    assert row["xm"].startswith("hmac:") and row["sfzh"].startswith("hmac:")
    text = pseudonymise_text('{"gdbh": "G1", "lddh": "13800135678", broken', KEY)
    assert "13800135678" not in text and '"gdbh": "G1"' in text
