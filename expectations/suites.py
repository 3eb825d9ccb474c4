"""The registry of Great Expectations suites, as plain data (no GX import here: GX takes ~8 s to import).

A :class:`SuiteSpec` names what to read (a table, or a read-only query over the warehouse) and a list of
:class:`Check` (a GX expectation type in snake case plus its keyword arguments). :mod:`expectations.run`
turns each Check into a GX 1.x expectation.

Raw suites are derived from the source contract (``yiwang/contracts/source_systems.yaml``) for EVERY raw table:
key not null; the contract's value lists; format checks by field type (int, decimal, date, timestamp, boolean,
ISO 8601) and by meaning (15-digit grid codes, 12-digit division codes, 9-digit street codes, GB 32100 credit
codes, GB 11643 citizen IDs, item codes ``XK00123001``); referential checks against reference data and parent
tables (event categories, department USCCs, grid codes, items of a case ...). Where the contract lists "dirt"
for a field, the check tolerates it (``mostly``): staging cleans that dirt, the gate only catches the
unexpected. Mart suites check keys and reconcile row counts against raw.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml

from yiwang.contracts import Table, load_contract
from yiwang.publish import BUILD_SUFFIX

Layer = Literal["raw", "mart"]

# regexes over raw text (values as received)
DIGITS_15 = r"^\d{15}$"
DIGITS_12 = r"^\d{12}$"
DIGITS_9 = r"^\d{9}$"
CITIZEN_ID = r"^(?:\d{17}[\dXx]|\d{15})$"  # GB 11643 18-char (check char may be x) or legacy 15-digit
USCC = r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$"  # GB 32100: no I, O, Z, S, V
ID_OR_USCC = r"^(?:\d{17}[\dXx]|\d{15}|[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10})$"
USCC_OR_ORG_CODE = r"^(?:[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}|[0-9A-Z]{8}-?[0-9X])$"  # + legacy 9-char
ITEM_CODE = r"^(?:XK|QR|JF|CJ|JL|QT|GG)\d{8}$"  # sxbm: type letters + 5-digit main + 3-digit sub
INTEGER = r"^-?\d+(?:\.0+)?$"  # an API serving a nullable int column as 5.0
DECIMAL = r"^-?\d+(?:\.\d+)?$"
DATE = r"^\d{4}-\d{2}-\d{2}$"
# "2024-03-01 08:00:00", "2024-03-01T08:00:00.123+08:00", "2024-03-01"
TIMESTAMP = r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
BOOLEAN_VALUES = ["true", "false", "0", "1"]

# Share of rows that must pass where the contract lists "dirt" for a field the simulator injects at a
# configurable rate (default 5 %): a real export is dirtier than a clean one, but not mostly dirt.
DIRTY_MOSTLY = 0.8
CLEAN_MOSTLY = 0.99

# Row-wise expectation types: a failing row can be named, so it can be quarantined (expectations.run).
ROW_WISE = frozenset({
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_be_between",
})


@dataclass(frozen=True)
class Check:
    """One expectation: ``type`` is the GX expectation type (``expect_column_values_to_not_be_null``).

    ``value_set_from`` (``(schema, table, column)``) makes an in-set check referential: the value set is read
    from the warehouse when the gate runs (rows rejected by an earlier gate excluded)."""

    type: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    value_set_from: tuple[str, str, str] | None = None

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

    @property
    def row_wise(self) -> bool:
        return self.type in ROW_WISE

    @property
    def name(self) -> str:
        """``expect_x(column=y)``: how failures, quarantine rules and gate logs name this check."""
        args = ", ".join(f"{k}={v}" for k, v in self.kwargs.items() if k in ("column", "column_A", "value"))
        return f"{self.type}({args})"


def check(type_: str, *, value_set_from: tuple[str, str, str] | None = None, **kwargs: Any) -> Check:
    return Check(type_, kwargs, value_set_from)


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

    @property
    def system(self) -> str:
        return self.schema.removeprefix("raw_")

    def columns(self) -> list[str]:
        cols: set[str] = set()
        for c in self.checks:
            cols |= c.columns()
        return sorted(cols)

    def in_schema_suffix(self, suffix: str) -> SuiteSpec:
        """The same suite reading the marts dbt built into ``mart_<x><suffix>`` (see yiwang.publish)."""
        if not suffix:
            return self
        query = re.sub(r"\b(mart_\w+?)\.", lambda m: f"{m.group(1)}{suffix}.", self.query) if self.query else None
        return replace(self, schema=f"{self.schema}{suffix}", query=query)


# --- raw suites, from the contract ------------------------------------------------------------------


@cache
def _contract_doc() -> dict[str, Any]:
    text = resources.files("yiwang").joinpath("contracts/source_systems.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def field_specs(system: str, table: str) -> dict[str, dict[str, Any]]:
    """The contract's own field entries (type, meaning, dirt, format), which yiwang.contracts does not keep."""
    doc = _contract_doc()
    if system == "reference":
        return {}
    s = doc["systems"][system]
    body = s.get("tables") or s.get("resources") or s.get("files") or s.get("records") or {}
    spec = body[table]
    return {k: (v or {}) for k, v in (spec.get("fields") or {}).items()}


def _dirty(spec: dict[str, Any]) -> bool:
    return bool(spec.get("dirt"))


# Code formats by field name (the contract's meaning, one place): regex, and whether dirt is expected there.
CODE_FIELDS: dict[str, str] = {
    "wgbm": DIGITS_15,
    "sqbm": DIGITS_12,
    "qhdm": DIGITS_12,
    "division_code": DIGITS_12,
    "jdbm": DIGITS_9,
    "host_uscc": USCC_OR_ORG_CODE,
    "czbm_uscc": USCC,
    "bmUscc": USCC,
    "gysUscc": USCC,
    "wyqy_uscc": USCC_OR_ORG_CODE,
    "uscc": USCC,
    "sxbm": ITEM_CODE,
    "sfzh": CITIZEN_ID,
    "sqrzjhm": ID_OR_USCC,
}
# codes whose exports are known to be dirtier than the contract's dirt lists say (masked, legacy, Excel)
DIRTY_CODES = frozenset({("property", "wyqy_uscc"), ("party", "host_uscc")})

# key parts the contract says may be empty: owners' building/unit/room merged into one column "3-2-501"
DIRTY_KEY_PARTS: dict[tuple[str, str], tuple[str, ...]] = {("property", "owners"): ("ld", "dy")}

# Referential checks: (system, table, column) -> (schema, table, column) of the values it must be one of.
REFERENCES: dict[tuple[str, str, str], tuple[tuple[str, str, str], float]] = {
    ("grid", "wg_sj", "lbdm"): (("raw_reference", "event_categories", "category_code"), DIRTY_MOSTLY),
    ("grid", "wg_sj", "czbm_uscc"): (("raw_reference", "departments", "uscc"), CLEAN_MOSTLY),
    ("grid", "wg_sj", "wgbm"): (("raw_grid", "wg_grid", "wgbm"), CLEAN_MOSTLY),
    ("grid", "wg_syrk", "wgbm"): (("raw_grid", "wg_grid", "wgbm"), CLEAN_MOSTLY),
    ("grid", "wg_wgy", "wgbm"): (("raw_grid", "wg_grid", "wgbm"), CLEAN_MOSTLY),
    ("grid", "wg_grid", "sqbm"): (("raw_reference", "divisions", "division_code"), CLEAN_MOSTLY),
    ("grid", "wg_sjlz", "sjbh"): (("raw_grid", "wg_sj", "sjbh"), CLEAN_MOSTLY),
    ("party", "dj_org", "qhdm"): (("raw_reference", "divisions", "division_code"), CLEAN_MOSTLY),
    ("party", "dj_dy", "org_id"): (("raw_party", "dj_org", "org_id"), CLEAN_MOSTLY),
    ("party", "dj_shyk", "org_id"): (("raw_party", "dj_org", "org_id"), CLEAN_MOSTLY),
    ("approval", "items", "bmUscc"): (("raw_reference", "departments", "uscc"), CLEAN_MOSTLY),
    ("approval", "cases", "sxbm"): (("raw_approval", "items", "sxbm"), CLEAN_MOSTLY),
    ("approval", "evaluations", "bjbh"): (("raw_approval", "cases", "bjbh"), CLEAN_MOSTLY),
    ("services", "orders", "fwbm"): (("raw_services", "life_items", "fwbm"), CLEAN_MOSTLY),
    ("reference", "divisions", "parent_code"): (("raw_reference", "divisions", "division_code"), CLEAN_MOSTLY),
}


def _type_regex(ftype: str, spec: dict[str, Any]) -> str | None:
    t = ftype.lower()
    if spec.get("format") == "ISO8601" or t in ("timestamp", "datetime"):
        return TIMESTAMP
    if t == "date":
        return DATE
    if t in ("int", "tinyint"):
        return INTEGER
    if t.startswith("decimal") or t == "number":
        return DECIMAL
    return None


def contract_checks(system: str, table: str, *, skip_values: tuple[str, ...] = ()) -> list[Check]:
    """Every check the contract implies for one raw table (see the module docstring)."""
    t: Table = load_contract().table(system, table)
    specs = field_specs(system, table)
    # keys derived from the file path (estates: company) are not columns of raw
    out = [check("expect_column_values_to_not_be_null", column=k,
                 **({"mostly": DIRTY_MOSTLY} if k in DIRTY_KEY_PARTS.get((system, table), ()) else {}))
           for k in t.key if k in t.columns]
    if t.cursor:
        out.append(check("expect_column_values_to_not_be_null", column=t.cursor, mostly=CLEAN_MOSTLY))
    for f in t.fields:
        spec = specs.get(f.name, {})
        mostly = DIRTY_MOSTLY if _dirty(spec) else CLEAN_MOSTLY
        if f.values and f.name not in skip_values:
            values = [str(v) for v in f.values]
            out.append(check("expect_column_values_to_be_in_set", column=f.name, value_set=values, mostly=mostly))
        elif f.type.lower() in ("boolean", "bool"):
            out.append(check("expect_column_values_to_be_in_set", column=f.name, value_set=BOOLEAN_VALUES,
                             mostly=mostly))
        regex = CODE_FIELDS.get(f.name) or (None if f.values else _type_regex(f.type, spec))
        if f.name == "parent_code":
            regex = r"^(?:\d{12})?$"  # the city itself has no parent: ''
        if regex:
            m = DIRTY_MOSTLY if (_dirty(spec) or (system, f.name) in DIRTY_CODES) else mostly
            out.append(check("expect_column_values_to_match_regex", column=f.name, regex=regex, mostly=m))
        ref = REFERENCES.get((system, table, f.name))
        if ref:
            target, m = ref
            out.append(check("expect_column_values_to_be_in_set", column=f.name, value_set=[], mostly=m,
                             value_set_from=target))
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


# tsbq holds comma-separated tags, not one value of the list; sfsc is a tinyint flag
_EXTRA: dict[tuple[str, str], dict[str, Any]] = {
    ("grid", "wg_syrk"): {
        "skip_values": ("tsbq",),
        "extra": [check("expect_column_values_to_be_in_set", column="sfsc", value_set=["0", "1"])],
    },
}


def _all_raw_suites() -> list[SuiteSpec]:
    contract = load_contract()
    tables = [*contract.reference.values(), *contract.all_tables()]
    return [raw_suite(t.system, t.name, **dict(_EXTRA.get((t.system, t.name), {}))) for t in tables]


RAW_SUITES: list[SuiteSpec] = _all_raw_suites()

# --- marts ----------------------------------------------------------------------------------------
# time limits (working days), visits and site counts: never negative (NULL where not applicable)
CATALOG_NON_NEGATIVE = ("statutory_limit_days", "promised_limit_days", "max_visits", "site_count")
CATALOG_KINDS = ("government", "life")


def _distinct_keys(schema: str, table: str, column: str) -> str:
    """Distinct non-blank keys of a raw table, as staging reads it (trimmed, upper-cased)."""
    return (f'(select count(distinct upper(trim("{column}"))) from {schema}."{table}" '
            f"where trim(\"{column}\") <> '')")


CATALOG_RECONCILE_QUERY = (
    "select "
    "(select count(*) from mart_catalog.service_catalog where item_kind = 'government') as mart_government, "
    f"{_distinct_keys('raw_approval', 'items', 'sxbm')} as raw_government, "
    "(select count(*) from mart_catalog.service_catalog where item_kind = 'life') as mart_life, "
    f"{_distinct_keys('raw_services', 'life_items', 'fwbm')} as raw_life"
)

MART_SUITES: list[SuiteSpec] = [
    SuiteSpec(
        name="mart_catalog__service_catalog",
        layer="mart",
        schema="mart_catalog",
        table="service_catalog",
        batch_rows=None,
        checks=(
            check("expect_table_row_count_to_be_between", min_value=1),
            check("expect_column_values_to_not_be_null", column="item_code"),
            check("expect_column_values_to_be_unique", column="item_code"),
            check("expect_column_values_to_not_be_null", column="item_kind"),
            check("expect_column_values_to_be_in_set", column="item_kind", value_set=list(CATALOG_KINDS)),
            *(check("expect_column_values_to_be_between", column=c, min_value=0) for c in CATALOG_NON_NEGATIVE),
        ),
    ),
    SuiteSpec(
        # row counts reconcile with raw: every distinct sxbm in raw_approval.items is one government item
        # (132 in the demo city), every distinct fwbm in raw_services.life_items one life item (526)
        name="mart_catalog__service_catalog__reconcile",
        layer="mart",
        schema="mart_catalog",
        table="service_catalog",
        query=CATALOG_RECONCILE_QUERY,
        batch_rows=None,
        checks=(
            check("expect_table_row_count_to_equal", value=1),
            check("expect_column_pair_values_to_be_equal", column_A="mart_government", column_B="raw_government"),
            check("expect_column_pair_values_to_be_equal", column_A="mart_life", column_B="raw_life"),
            check("expect_column_values_to_be_between", column="raw_government", min_value=1),
            check("expect_column_values_to_be_between", column="raw_life", min_value=1),
        ),
    ),
]


def mart_key_suites(manifest: dict[str, Any], known: set[str]) -> list[SuiteSpec]:
    """A key suite for every public mart model in the dbt manifest not gated by a hand-written suite:
    each column with a ``unique`` data test (its key) is not null and unique."""
    out: list[SuiteSpec] = []
    nodes = manifest.get("nodes", {})
    keys: dict[str, list[str]] = {}
    for node in nodes.values():
        if node.get("resource_type") == "test" and (node.get("test_metadata") or {}).get("name") == "unique":
            col = node.get("column_name") or (node["test_metadata"].get("kwargs") or {}).get("column_name")
            for dep in (node.get("depends_on") or {}).get("nodes", []):
                if col:
                    keys.setdefault(dep, []).append(col)
    for uid, node in sorted(nodes.items()):
        schema = str(node.get("schema") or "").removesuffix(BUILD_SUFFIX)
        if node.get("resource_type") != "model" or not schema.startswith("mart_"):
            continue
        relation = f"{schema}.{node['alias'] or node['name']}"
        if relation in known:
            continue
        checks = [check("expect_table_row_count_to_be_between", min_value=0)]
        for col in sorted(set(keys.get(uid, []))):
            checks += [check("expect_column_values_to_not_be_null", column=col),
                       check("expect_column_values_to_be_unique", column=col)]
        out.append(SuiteSpec(name=f"{schema}__{node['alias'] or node['name']}", layer="mart", schema=schema,
                             table=node["alias"] or node["name"], checks=tuple(checks), batch_rows=None))
    return out


def suites(layer: Layer, manifest: dict[str, Any] | None = None) -> list[SuiteSpec]:
    if layer == "raw":
        return list(RAW_SUITES)
    known = {s.relation for s in MART_SUITES}
    return list(MART_SUITES) + (mart_key_suites(manifest, known) if manifest else [])
