"""The registry of Great Expectations suites, as plain data (no GX import here: GX takes ~8 s to import).

A :class:`SuiteSpec` names what to read (a table, or a read-only query over the warehouse) and a list of
:class:`Check` (a GX expectation type in snake case plus its keyword arguments). :mod:`expectations.run`
turns each Check into a GX 1.x expectation. To gate another table, append a SuiteSpec to ``RAW_SUITES`` or
``MART_SUITES``; :func:`contract_checks` derives the key / value-set checks of a raw table from the contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from yiwang.contracts import load_contract

Layer = Literal["raw", "mart"]

# regexes over raw text (values as received)
DIGITS_15 = r"^\d{15}$"
CITIZEN_ID = r"^(?:\d{17}[\dXx]|\d{15})$"  # GB 11643 18-char (check char may be x) or legacy 15-digit
# "2024-03-01 08:00:00", "2024-03-01T08:00:00.123+08:00", "2024-03-01"
TIMESTAMP = r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"

# Share of rows that must pass where the contract lists "dirt" for a field the simulator injects at a
# configurable rate (default 5 %): a real export is dirtier than a clean one, but not mostly dirt.
DIRTY_MOSTLY = 0.8
CLEAN_MOSTLY = 0.99


@dataclass(frozen=True)
class Check:
    """One expectation: ``type`` is the GX expectation type (``expect_column_values_to_not_be_null``)."""

    type: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def column(self) -> str | None:
        return self.kwargs.get("column")

    def columns(self) -> set[str]:
        cols = {v for k, v in self.kwargs.items() if k in ("column", "column_A", "column_B") and v}
        cols.update(self.kwargs.get("column_list") or ())
        return cols

    @property
    def table_level(self) -> bool:
        """True when the expectation needs the whole table at once (cannot be checked batch by batch)."""
        return self.type.startswith("expect_table_") or "unique" in self.type or "distinct" in self.type


def check(type_: str, **kwargs: Any) -> Check:
    return Check(type_, kwargs)


@dataclass(frozen=True)
class SuiteSpec:
    """What one suite validates. ``query`` (read-only SQL) replaces ``schema.table`` when set.

    ``batch_rows``: read the data in batches of this many rows (``None`` = the whole result at once).
    Batching is only allowed when every check is row-wise; results are summed across batches.
    """

    name: str
    layer: Layer
    schema: str
    table: str
    checks: tuple[Check, ...]
    query: str | None = None
    batch_rows: int | None = 500_000

    def __post_init__(self) -> None:
        if self.batch_rows is not None and any(c.table_level for c in self.checks):
            raise ValueError(f"suite {self.name}: table-level checks need batch_rows=None")

    @property
    def relation(self) -> str:
        return f"{self.schema}.{self.table}"

    def columns(self) -> list[str]:
        cols: set[str] = set()
        for c in self.checks:
            cols |= c.columns()
        return sorted(cols)


def contract_checks(system: str, table: str, *, skip_values: tuple[str, ...] = ()) -> list[Check]:
    """Checks every raw table gets from the contract: key fields not null; fields with a value list in it."""
    t = load_contract().table(system, table)
    out = [check("expect_column_values_to_not_be_null", column=k) for k in t.key]
    for f in t.fields:
        if f.values and f.name not in skip_values:
            values = [str(v) for v in f.values]
            out.append(
                check(
                    "expect_column_values_to_be_in_set",
                    column=f.name,
                    value_set=values,
                    mostly=CLEAN_MOSTLY,
                )
            )
    return out


def raw_suite(system: str, table: str, extra: list[Check] | None = None, **kw: Any) -> SuiteSpec:
    skip = kw.pop("skip_values", ())
    return SuiteSpec(
        name=f"raw_{system}__{table}",
        layer="raw",
        schema=f"raw_{system}",
        table=table,
        checks=tuple(contract_checks(system, table, skip_values=skip) + (extra or [])),
        **kw,
    )


RAW_SUITES: list[SuiteSpec] = [
    raw_suite(
        "grid",
        "wg_syrk",
        skip_values=("tsbq",),  # tsbq holds comma-separated tags, not one value of the list
        extra=[
            check("expect_column_values_to_match_regex", column="wgbm", regex=DIGITS_15, mostly=CLEAN_MOSTLY),
            check("expect_column_values_to_be_in_set", column="sfsc", value_set=["0", "1"]),
            check("expect_column_values_to_not_be_null", column="update_time"),
            check("expect_column_values_to_match_regex", column="update_time", regex=TIMESTAMP),
            # sfzh dirt per contract: legacy 15-digit, lowercase x, full-width, spaces/hyphens, 4.2E+17, nulls
            check("expect_column_values_to_match_regex", column="sfzh", regex=CITIZEN_ID, mostly=DIRTY_MOSTLY),
        ],
    ),
]

# --- marts ----------------------------------------------------------------------------------------
CATALOG_KINDS = {"government": 132, "life": 526}  # 政务服务事项 + 生活服务事项 in the city catalog
# time limits (working days), visits and site counts: never negative (NULL where not applicable)
CATALOG_NON_NEGATIVE = ("statutory_limit_days", "promised_limit_days", "max_visits", "site_count")

MART_SUITES: list[SuiteSpec] = [
    SuiteSpec(
        name="mart_catalog__service_catalog",
        layer="mart",
        schema="mart_catalog",
        table="service_catalog",
        batch_rows=None,
        checks=(
            check("expect_table_row_count_to_equal", value=sum(CATALOG_KINDS.values())),
            check("expect_column_values_to_not_be_null", column="item_code"),
            check("expect_column_values_to_be_unique", column="item_code"),
            check("expect_column_values_to_not_be_null", column="item_kind"),
            check("expect_column_values_to_be_in_set", column="item_kind", value_set=sorted(CATALOG_KINDS)),
            *(check("expect_column_values_to_be_between", column=c, min_value=0) for c in CATALOG_NON_NEGATIVE),
        ),
    ),
    SuiteSpec(
        name="mart_catalog__service_catalog__kinds",
        layer="mart",
        schema="mart_catalog",
        table="service_catalog",
        query="select item_kind, count(*) as n from mart_catalog.service_catalog group by item_kind",
        batch_rows=None,
        checks=(
            check("expect_table_row_count_to_equal", value=len(CATALOG_KINDS)),
            check(
                "expect_column_pair_values_to_be_in_set",
                column_A="item_kind",
                column_B="n",
                value_pairs_set=[(k, n) for k, n in CATALOG_KINDS.items()],
            ),
        ),
    ),
]


def suites(layer: Layer) -> list[SuiteSpec]:
    return list(RAW_SUITES if layer == "raw" else MART_SUITES)
