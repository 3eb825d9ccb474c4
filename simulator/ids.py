"""Check characters of the national identifier standards the demo city uses.

* GB 11643-1999 citizen ID: ISO 7064 MOD 11-2 over the first 17 digits.
* GB 32100-2015 unified social credit code (USCC): GB/T 17710 MOD 31.
* GB 11714 organisation code (9 chars, the 9th a MOD 11 check char), embedded in a USCC at 9-17.
"""

from __future__ import annotations

import numpy as np

ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ID_CHECK_CHARS = "10X98765432"

USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def id_check_char(first17: str) -> str:
    """MOD 11-2 check char of an 18-char citizen ID, from its first 17 digits."""
    total = sum(int(c) * int(w) for c, w in zip(first17, ID_WEIGHTS))
    return ID_CHECK_CHARS[total % 11]


def id_check_chars(first17: list[str] | np.ndarray) -> np.ndarray:
    """Vectorised MOD 11-2 check chars for many 17-digit strings."""
    values = list(first17)
    if not values:
        return np.array([], dtype=object)
    buf = np.frombuffer("".join(values).encode("ascii"), dtype=np.uint8).reshape(len(values), 17)
    sums = (buf.astype(np.int64) - 48) @ ID_WEIGHTS
    table = np.array(list(ID_CHECK_CHARS), dtype=object)
    return table[sums % 11]


def is_valid_id_no(value: str | None) -> bool:
    """True for a well-formed 18-char citizen ID with the right check char."""
    if value is None or len(value) != 18 or not value[:17].isdigit() or not value[:17].isascii():
        return False
    return id_check_char(value[:17]) == value[17]


def org_code_check_char(first8: str) -> str:
    """GB 11714 check char of a 9-char organisation code."""
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first8, ORG_CODE_WEIGHTS))
    c = 11 - total % 11
    return "X" if c == 10 else ("0" if c == 11 else str(c))


def uscc_check_char(first17: str) -> str:
    """GB 32100 MOD 31 check char of a USCC, from its first 17 chars."""
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return USCC_CHARS[(31 - total % 31) % 31]


def is_valid_uscc(value: str | None) -> bool:
    """True for an 18-char USCC from the allowed alphabet with the right check char."""
    if value is None or len(value) != 18 or any(c not in USCC_CHARS for c in value):
        return False
    return uscc_check_char(value[:17]) == value[17]


def make_uscc(authority: str, org_type: str, area6: str, org_body8: str) -> str:
    """Build a USCC: authority + type + area + 9-char org code (with its check) + check char."""
    org_code = org_body8 + org_code_check_char(org_body8)
    first17 = authority + org_type + area6 + org_code
    return first17 + uscc_check_char(first17)


def legacy_org_code(uscc: str) -> str:
    """The legacy 9-char organisation code embedded in a USCC, written as 12345678-9."""
    return f"{uscc[8:16]}-{uscc[16]}"


def id_to_legacy15(id18: str) -> str:
    """The legacy 15-digit form of an 18-digit citizen ID (2-digit year, no check char)."""
    return id18[:6] + id18[8:17]
