"""Personal data handling: which source fields are personal, keyed pseudonyms, display masks.

DESIGN.md: raw ID numbers and phones stay in raw_* and staging; anywhere else a person is a pseudonym
(HMAC-SHA256 with a key from the environment — plain hashes of 18-digit IDs are brute-forceable) or a mask.

Quarantine rows are pseudonymised with the same rules whatever shape they arrive in: a row with field names
(personal fields by name, ID-like and mobile numbers anywhere else), a CSV line with the file's column names
(by position), or text that could not be parsed at all (``"field": "value"`` pairs of personal fields, and
ID-like / mobile numbers — but not other digits such as ticket numbers, dates or grid codes).
"""

from __future__ import annotations

import calendar
import csv
import hashlib
import hmac
import io
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from yiwang.settings import hmac_key

# Contract fields that carry personal data (ID numbers, phones, names, addresses of people,
# special-population tags). Party membership is implied by any party.dj_dy / dj_bd row.
PERSONAL_FIELDS = frozenset(
    {
        "sfzh",
        "sqrzjhm",
        "yzzjhm",  # ID numbers
        "sjhm",
        "lxdh",
        "sqrdh",
        "yzdh",
        "dh",
        "lddh",
        "sbr_dh",  # phones
        "xm",
        "sj_xm",
        "sqrmc",
        "yzxm",
        "tsr",
        "ldr",
        "sbr_xm",
        "czr",  # names
        "jtzz",
        "jzdz",
        "czd_dz",
        "sqrdz",
        "fwdz",  # home addresses
        "tsbq",  # special-population tags (PIPL art. 28)
        "csrq",  # birth date
    }
)

_D = "[0-9０-９]"  # a digit as exports write it: ASCII or full-width
_SEP = "[ \\-]?"  # ID numbers and phones arrive with spaces or hyphens inside
_NOT_ALNUM_BEFORE = "(?<![0-9０-９A-Za-z])"
_NOT_ALNUM_AFTER = "(?![0-9０-９A-Za-z])"
# 18-digit citizen ID (last char may be X), 15-digit legacy ID; validated by area and birth date below
_ID18 = re.compile(_NOT_ALNUM_BEFORE + _D + f"(?:{_SEP}{_D}){{16}}{_SEP}[0-9０-９Xx×ｘＸ]" + _NOT_ALNUM_AFTER)
_ID15 = re.compile(_NOT_ALNUM_BEFORE + _D + f"(?:{_SEP}{_D}){{14}}" + _NOT_ALNUM_AFTER)
# partly masked (420106********1234) and Excel-mangled (4.20103E+17) ID numbers still identify a person
_ID_MASKED = re.compile(
    _NOT_ALNUM_BEFORE + _D + "{6}[*＊]{4,12}" + _D + "{3}[0-9０-９Xx*＊]" + _NOT_ALNUM_AFTER
)
_ID_EXCEL = re.compile(_NOT_ALNUM_BEFORE + "[1-9]\\.[0-9]{3,14}[Ee]\\+1[47]" + _NOT_ALNUM_AFTER)
# mainland mobile: 1[3-9] + 9 digits, optionally +86 / 0086 / 86 in front, spaces or hyphens between groups
_MOBILE = re.compile(
    _NOT_ALNUM_BEFORE + f"(?:(?:\\+|00)?86{_SEP})?1[3-9]{_D}(?:{_SEP}{_D}){{8}}" + _NOT_ALNUM_AFTER
)
# "field": "value" in JSON-ish text (a malformed line): the value may be cut off by the end of the line
_JSON_PAIR = re.compile(r'"(?P<field>[A-Za-z_][A-Za-z0-9_]*)"\s*:\s*"(?P<value>(?:[^"\\]|\\.)*)')


def pseudonym(value: str, key: bytes | None = None) -> str:
    """A stable keyed pseudonym: the same value and key give the same token, nothing gives the value back."""
    digest = hmac.new(key or hmac_key(), value.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"hmac:{digest[:24]}"


def _digits(text: str) -> str:
    """ASCII digits (and X) of an ID-like or phone-like run, separators dropped: the pseudonym's input, so
    "420106 1990 0101 123x" and "420106199001011234X" forms of one number give one pseudonym."""
    folded = unicodedata.normalize("NFKC", text).upper().replace("×", "X")
    return re.sub(r"[^0-9X*]", "", folded)


def _valid_birth(year: int, month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]


def is_id_number(text: str) -> bool:
    """An 18- or 15-digit run shaped like a citizen ID: area code 11-82 and a real birth date.

    Not an ID: grid codes (15 digits whose "year" would be 00-09: the legacy form was issued to people born
    1910-1999), order or ticket numbers (no valid birth date at positions 7-14), dates, division codes.
    """
    d = _digits(text)
    if not 11 <= int(d[:2] or 0) <= 82:
        return False
    if len(d) == 18 and d[:17].isdigit():
        year = int(d[6:10])
        return 1900 <= year <= 2099 and _valid_birth(year, int(d[10:12]), int(d[12:14]))
    if len(d) == 15 and d.isdigit():
        yy = int(d[6:8])
        return yy >= 10 and _valid_birth(1900 + yy, int(d[8:10]), int(d[10:12]))
    return False


def pseudonymise_text(text: str, key: bytes | None = None) -> str:
    """For text that could not be parsed: pseudonymise personal ``"field": "value"`` pairs, ID numbers
    (18/15 digits with a valid area and birth date, masked or Excel-mangled forms) and mobile numbers.
    Other digits (ticket numbers, dates, grid and division codes) stay as they are."""
    k = key or hmac_key()

    def pair(m: re.Match[str]) -> str:
        if m.group("field") not in PERSONAL_FIELDS or not m.group("value"):
            return m.group(0)
        start, end = m.span("value")
        whole = m.group(0)
        base = m.start()
        return whole[: start - base] + pseudonym(m.group("value"), k) + whole[end - base :]

    def ident(m: re.Match[str]) -> str:
        return pseudonym(_digits(m.group(0)), k) if is_id_number(m.group(0)) else m.group(0)

    out = _JSON_PAIR.sub(pair, text)
    out = _ID18.sub(ident, out)
    out = _ID15.sub(ident, out)
    out = _ID_MASKED.sub(lambda m: pseudonym(_digits(m.group(0)), k), out)
    out = _ID_EXCEL.sub(lambda m: pseudonym(m.group(0).upper(), k), out)
    return _MOBILE.sub(lambda m: pseudonym(_digits(m.group(0))[-11:], k), out)


def _value(field: str | None, value: Any, k: bytes) -> Any:
    if value is None or value == "":
        return value
    if field in PERSONAL_FIELDS:
        return pseudonym(value if isinstance(value, str) else str(value), k)
    if isinstance(value, str):
        return pseudonymise_text(value, k)
    if isinstance(value, dict):
        return {f: _value(f, v, k) for f, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_value(None, v, k) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
        masked = pseudonymise_text(text, k)
        return value if masked == text else masked
    return value


def pseudonymise_row(row: dict[str, Any], key: bytes | None = None) -> dict[str, Any]:
    """Replace the personal fields of a source row by pseudonyms; in the other fields, ID and mobile numbers
    (a source can put them anywhere, e.g. a column added without notice) are pseudonymised too."""
    k = key or hmac_key()
    return {f: _value(f, v, k) for f, v in row.items()}


def pseudonymise_values(
    values: Sequence[Any], columns: Sequence[str | None], key: bytes | None = None, *, aligned: bool = True
) -> list[Any]:
    """A row as a list of cells with the file's column names by position (``None`` = unknown column).

    When ``aligned`` is false (the row has more cells than the header: a stray separator may have shifted
    them) no position can be trusted, so every non-empty cell is pseudonymised."""
    k = key or hmac_key()
    out = []
    for i, v in enumerate(values):
        if not aligned and v not in (None, ""):
            out.append(pseudonym(str(v), k))
        else:
            out.append(_value(columns[i] if i < len(columns) else None, v, k))
    return out


def pseudonymise_csv_line(
    line: str, columns: Sequence[str | None], key: bytes | None = None, delimiter: str = ","
) -> str:
    """A CSV line that could not land (bad quoting, too few or too many fields), as text, with its cells
    pseudonymised by the column they sit in (see :func:`pseudonymise_values`)."""
    try:
        cells = next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:  # broken quoting: split on the delimiter, cells may not line up with the header
        cells = line.split(delimiter)
        if any('"' in c for c in cells):
            return delimiter.join(pseudonymise_values(cells, columns, key, aligned=False))
    masked = pseudonymise_values(cells, columns, key, aligned=len(cells) <= len(columns))
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="").writerow(masked)
    return buf.getvalue()


def mask_id(id_no: str | None) -> str | None:
    """110105********1234"""
    if not id_no:
        return id_no
    s = id_no.strip()
    return s[:6] + "*" * max(len(s) - 10, 0) + s[-4:] if len(s) > 10 else "*" * len(s)


def mask_phone(phone: str | None) -> str | None:
    """138****5678"""
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 11 else "*" * len(digits)


def mask_name(name: str | None) -> str | None:
    """张*  (first character kept; a two-part minority name keeps its first character too)"""
    if not name:
        return name
    s = name.strip()
    return s[0] + "*" * max(len(s) - 1, 1)
