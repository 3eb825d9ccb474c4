"""The dirt each contract field carries, applied at a configurable rate.

`DirtConfig.rate` is the share of a field's values that are dirty; it is split evenly over the
kinds the contract lists for that field (so `sfzh`, with 7 kinds, has each kind at rate/7).
File-level kinds (truncated file, resend, ...) and the HTTP APIs' faults form groups of one and apply
at the full rate (at least one file when the rate is > 0; the HTTP rates are per request or page, see
`simulator.http_api.FaultConfig.from_dirt`). `overrides` sets one kind's rate directly.
Whenever a kind's rate is > 0 and a table has a row the kind can apply to, at least one row gets it.
`simulator.dirt_catalog` maps every dirt and fault string of the contract to the kinds here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from simulator.geography import CITY_NAME, PROVINCE, chinese_number
from simulator.ids import ID_CHECK_CHARS, id_to_legacy15
from simulator.names import ETHNIC_CODES, has_traditional_form, to_traditional

DIRT_KINDS: dict[str, list[str]] = {
    "name": ["name_traditional", "name_title_suffix", "name_trailing_space", "name_minority_period"],
    # a caller / complainant named by surname and title only (李先生, 王女士, 张师傅): hotline ldr, complaints tsr
    "caller_name": ["name_title_only"],
    "sex": ["sex_digit_code", "sex_letter_code"],
    "id_no": [
        "id_legacy15",
        "id_lowercase_x",
        "id_fullwidth_digits",
        "id_fullwidth_x",
        "id_spaces_hyphens",
        "id_excel_scientific",
        "id_wrong_check_char",
        "id_null",
    ],
    "birth_date": ["date_slash", "date_compact", "date_chinese", "date_excel_serial"],
    "ethnic": ["ethnic_short", "ethnic_code"],
    "phone": [
        "phone_intl_format",
        "phone_86_prefix",
        "phone_landline",
        "phone_two_numbers",
        "phone_placeholder",
    ],
    "address": [
        "addr_with_province",
        "addr_without_city",
        "addr_dashed",
        "addr_chinese_numerals",
        "addr_estate_alias",
    ],
    "grid_text": [
        "grid_text_number_only",
        "grid_text_chinese_numeral",
        "grid_text_community_prefix",
        "grid_text_code",
    ],
    "host_uscc": ["uscc_legacy_org_code", "uscc_lowercase"],
    "community_text": ["community_juweihui_suffix", "community_short_juweihui"],
    "category": ["category_unknown_code", "category_text_only"],
    "satisfaction": ["myd_numeric"],
    "owner_id": ["owners_masked_id", "owners_excel_id"],
    "owner_room": ["owners_merged_room"],
    "owner_row": ["owners_duplicate"],
    "property_truncated": ["property_truncated_file"],
    "property_empty": ["property_empty_file"],
    "property_resend": ["property_resend"],
    "hotline_line": ["hotline_malformed_line"],
    "hotline_ticket": ["hotline_duplicate_ticket"],
    "hotline_reexport": ["hotline_reexport"],
    "http_429": ["http_429_retry_after"],
    "http_5xx": ["http_5xx"],
    "http_repeat": ["http_repeated_page"],
    "http_fields": ["http_added_fields"],
}
# Delivery variants that are part of how each property company delivers (its own encoding, header
# names and extra columns, simulator.systems.property.FORMATS / EXTRA_COLUMNS): always present, one
# fixed variant per company, not drawn at a rate.
STRUCTURAL_KINDS = ["property_encodings", "property_header_variants", "property_extra_columns"]
KIND_GROUP = {kind: group for group, kinds in DIRT_KINDS.items() for kind in kinds}
ALL_KINDS = list(KIND_GROUP)


@dataclass(frozen=True)
class DirtConfig:
    rate: float = 0.05
    overrides: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.overrides) - set(KIND_GROUP)
        if unknown:
            raise ValueError(f"unknown dirt kinds: {sorted(unknown)}; known: {ALL_KINDS}")

    def kind_rate(self, kind: str) -> float:
        if kind in self.overrides:
            return float(self.overrides[kind])
        return self.rate / len(DIRT_KINDS[KIND_GROUP[kind]])

    def to_dict(self) -> dict:
        return {
            "rate": self.rate,
            "overrides": dict(sorted(self.overrides.items())),
            "kind_rates": {k: self.kind_rate(k) for k in ALL_KINDS},
        }


def assign(
    rng: np.random.Generator,
    cfg: DirtConfig,
    group: str,
    n: int,
    applicable: Mapping[str, np.ndarray] | None = None,
    eligible: np.ndarray | None = None,
) -> np.ndarray:
    """Per row, the dirt kind of `group` it gets (object array, None = clean). Kinds are exclusive."""
    kinds = np.full(n, None, dtype=object)
    free = np.ones(n, dtype=bool) if eligible is None else eligible.astype(bool).copy()
    u = rng.random(n)
    lo = 0.0
    for kind in DIRT_KINDS[group]:
        r = cfg.kind_rate(kind)
        if r <= 0:
            continue
        ok = free if applicable is None or kind not in applicable else free & applicable[kind]
        mask = ok & (u >= lo) & (u < lo + r)
        if not mask.any() and ok.any():
            mask[rng.choice(np.flatnonzero(ok))] = True
        kinds[mask] = kind
        free &= ~mask
        lo += r
    return kinds


def count_files(cfg: DirtConfig, kind: str, n_files: int) -> int:
    r = cfg.kind_rate(kind)
    return 0 if r <= 0 or n_files == 0 else max(1, int(round(r * n_files)))


# ---------------------------------------------------------------- value transforms

FULLWIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
# How exports write a missing ID: an empty cell, the text "null"/"NULL" and 无 ("none").
NULL_ID_FORMS = (None, "null", "无", "NULL", "")
TITLES = ["（书记）", "（主任）", "（组长）", "(退休)"]


def dirty_name(value: str, kind: str, i: int) -> str:
    if kind == "name_traditional":
        return to_traditional(value)
    if kind == "name_title_suffix":
        return value + TITLES[i % len(TITLES)]
    if kind == "name_trailing_space":
        return value + " " * (1 + i % 3)
    if kind == "name_minority_period":
        return value.replace("·", "." if i % 2 == 0 else "•")
    raise KeyError(kind)


# Titles a caller or complainant is written down with instead of a given name, by sex.
TITLE_ONLY = {"男": ("先生", "师傅"), "女": ("女士", "阿姨")}


def title_only_name(surname: str, sex: str, i: int) -> str:
    """李先生 / 王女士 / 张师傅: the surname and a title of the person's sex instead of the name."""
    titles = TITLE_ONLY.get(sex, TITLE_ONLY["男"])
    return surname + titles[i % len(titles)]


def title_only_applicability(names: np.ndarray) -> dict[str, np.ndarray]:
    """A title-only form replaces a Han surname; a transliterated name with a middle dot keeps its form."""
    return {"name_title_only": np.array([v is not None and "·" not in str(v) for v in names], dtype=bool)}


def name_applicability(values: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "name_traditional": np.array([has_traditional_form(v) for v in values], dtype=bool),
        "name_minority_period": np.array(["·" in v for v in values], dtype=bool),
    }


def dirty_sex(value: str, kind: str) -> str:
    if kind == "sex_digit_code":
        return "1" if value == "男" else "2"
    return "M" if value == "男" else "F"


def dirty_id(value: str, kind: str, i: int) -> str | None:
    if kind == "id_legacy15":
        return id_to_legacy15(value)
    if kind == "id_lowercase_x":
        return value.lower()
    if kind == "id_fullwidth_digits":
        return value.translate(FULLWIDTH)
    if kind == "id_fullwidth_x":  # digits half-width, the check char typed full-width
        return value[:17] + "Ｘ"
    if kind == "id_spaces_hyphens":
        sep = " " if i % 2 == 0 else "-"
        return f"{value[:6]}{sep}{value[6:14]}{sep}{value[14:]}"
    if kind == "id_excel_scientific":
        return f"{float(value[:17] + ('0' if value[17] == 'X' else value[17])):.5E}"
    if kind == "id_wrong_check_char":
        right = ID_CHECK_CHARS.index(value[17])
        return value[:17] + ID_CHECK_CHARS[(right + 1 + i % 10) % 11]
    if kind == "id_null":
        return NULL_ID_FORMS[i % len(NULL_ID_FORMS)]
    raise KeyError(kind)


def id_applicability(values: np.ndarray) -> dict[str, np.ndarray]:
    valid = np.array([isinstance(v, str) and len(v) == 18 for v in values], dtype=bool)
    ends_x = np.array([isinstance(v, str) and v.endswith("X") for v in values], dtype=bool)
    return {k: valid for k in DIRT_KINDS["id_no"]} | {"id_lowercase_x": ends_x, "id_fullwidth_x": ends_x}


EXCEL_EPOCH = date(1899, 12, 30)


def dirty_date(value: date, kind: str) -> str:
    if kind == "date_slash":
        return f"{value.year}/{value.month}/{value.day}"
    if kind == "date_compact":
        return value.strftime("%Y%m%d")
    if kind == "date_chinese":
        return f"{value.year}年{value.month}月{value.day}日"
    if kind == "date_excel_serial":
        return str((value - EXCEL_EPOCH).days)
    raise KeyError(kind)


def dirty_ethnic(value: str, kind: str) -> str:
    if kind == "ethnic_short":
        return value[:-1] if value.endswith("族") else value
    return ETHNIC_CODES.get(value, "99")


def dirty_phone(value: str, kind: str, i: int, other: str) -> str:
    if kind == "phone_intl_format":
        return f"+86 {value[:3]}-{value[3:7]}-{value[7:]}"
    if kind == "phone_86_prefix":
        return "86" + value
    if kind == "phone_landline":
        return f"(027){8 if i % 2 else 5}{value[-7:]}"
    if kind == "phone_two_numbers":
        return f"{value}{'/' if i % 2 else '，'}{other}"
    if kind == "phone_placeholder":
        return "13800000000"
    raise KeyError(kind)


def room_chinese(fh: str) -> str:
    return "".join("〇一二三四五六七八九"[int(c)] for c in fh)


def format_address(
    district: str, estate: str, alias: str, ld: int, dy: int, fh: str, kind: str | None
) -> str:
    """A home address; kind None gives the clean form '江城市武昌区友育华庭3栋2单元501室'."""
    if kind is None:
        return f"{CITY_NAME}{district}{estate}{ld}栋{dy}单元{fh}室"
    if kind == "addr_with_province":
        return f"{PROVINCE}{CITY_NAME}{district}{estate}{ld}栋{dy}单元{fh}室"
    if kind == "addr_without_city":
        return f"{estate}{ld}栋{dy}单元{fh}室"
    if kind == "addr_dashed":
        return f"{CITY_NAME}{district}{estate}{ld}-{dy}-{fh}"
    if kind == "addr_chinese_numerals":
        return f"{district}{estate}{chinese_number(ld)}栋{chinese_number(dy)}单元{room_chinese(fh)}"
    if kind == "addr_estate_alias":
        return f"{CITY_NAME}{district}{alias}{ld}栋{dy}单元{fh}室"
    raise KeyError(kind)


def grid_text(community: str, short: str, seq: int, grid_code: str, kind: str | None) -> str:
    if kind is None:
        return f"{community}第{seq}网格"
    if kind == "grid_text_number_only":
        return f"第{seq}网格"
    if kind == "grid_text_chinese_numeral":
        return f"{chinese_number(seq)}网格"
    if kind == "grid_text_community_prefix":
        return f"{community}{seq}网格"
    if kind == "grid_text_code":
        return grid_code
    raise KeyError(kind)


def community_text(name: str, short: str, kind: str | None) -> str:
    if kind is None:
        return name
    if kind == "community_juweihui_suffix":
        return name + "居委会"
    return short + "居委会"


MYD_CODES = {"满意": "5", "基本满意": "3", "不满意": "1"}


def apply(values: np.ndarray, kinds: np.ndarray, fn: Callable[[object, str, int], object]) -> np.ndarray:
    """Copy of values with fn(value, kind, i) applied where kinds is not None."""
    out = values.copy()
    for i in np.flatnonzero(pd.notna(kinds)):
        out[i] = fn(values[i], kinds[i], int(i))
    return out


class DirtLog:
    """Which dirt went where: (system, table, source_key, field, kind), written to truth/dirt.parquet."""

    def __init__(self) -> None:
        self.frames: list[pd.DataFrame] = []

    def add(self, system: str, table: str, keys: np.ndarray, fld: str, kinds: np.ndarray) -> None:
        mask = pd.notna(kinds)
        if not mask.any():
            return
        self.frames.append(
            pd.DataFrame(
                {
                    "source_system": system,
                    "source_table": table,
                    "source_key": np.asarray(keys, dtype=object)[mask],
                    "field": fld,
                    "kind": kinds[mask],
                }
            )
        )

    def frame(self) -> pd.DataFrame:
        if not self.frames:
            return pd.DataFrame(
                columns=["source_system", "source_table", "source_key", "field", "kind"], dtype=object
            )
        return pd.concat(self.frames, ignore_index=True)
