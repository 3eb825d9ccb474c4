"""Personal data handling: which source fields are personal, keyed pseudonyms, display masks.

DESIGN.md: raw ID numbers and phones stay in raw_* and staging; anywhere else a person is a pseudonym
(HMAC-SHA256 with a key from the environment — plain hashes of 18-digit IDs are brute-forceable) or a mask.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from yiwang.settings import hmac_key

# Contract fields that carry personal data (ID numbers, phones, names, addresses of people,
# special-population tags). Party membership is implied by any party.dj_dy / dj_bd row.
PERSONAL_FIELDS = frozenset({
    "sfzh", "sqrzjhm", "yzzjhm",            # ID numbers
    "sjhm", "lxdh", "sqrdh", "yzdh", "dh", "lddh", "sbr_dh",  # phones
    "xm", "sj_xm", "sqrmc", "yzxm", "tsr", "ldr", "sbr_xm", "czr",  # names
    "jtzz", "jzdz", "czd_dz", "sqrdz", "fwdz",  # home addresses
    "tsbq",                                  # special-population tags (PIPL art. 28)
    "csrq",                                  # birth date
})

_LONG_DIGITS = re.compile(r"[0-9０-９][0-9０-９\s\-*xX]{5,}[0-9０-９xX]")


def pseudonym(value: str, key: bytes | None = None) -> str:
    """A stable keyed pseudonym: the same value and key give the same token, nothing gives the value back."""
    digest = hmac.new(key or hmac_key(), value.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"hmac:{digest[:24]}"


def pseudonymise_row(row: dict[str, Any], key: bytes | None = None) -> dict[str, Any]:
    """Replace the personal fields of a source row by pseudonyms; other fields stay as received."""
    k = key or hmac_key()
    return {
        f: (pseudonym(str(v), k) if f in PERSONAL_FIELDS and v not in (None, "") else v) for f, v in row.items()
    }


def pseudonymise_text(text: str, key: bytes | None = None) -> str:
    """For a line that could not be parsed: replace every long run of digits (IDs, phones) by a pseudonym."""
    k = key or hmac_key()
    return _LONG_DIGITS.sub(lambda m: pseudonym(m.group(0), k), text)


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
