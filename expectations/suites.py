"""The registry of Great Expectations suites, as plain data (no GX import here: GX takes ~8 s to import).

A :class:`SuiteSpec` names what to read (a table, or a read-only query over the warehouse) and a list of
:class:`Check` (a GX expectation type in snake case plus its keyword arguments). :mod:`expectations.run`
turns each Check into a GX 1.x expectation.

Raw suites are derived from the source contract (``yiwang/contracts/source_systems.yaml``) for EVERY raw table
(:func:`contract_checks`): keys and cursor present; typed fields readable; value lists; code formats; references
to the current delivery of parent tables and the city's reference data. Every rule judges one row by what staging
makes of it, never a share of rows: the gate reads each value with staging's own normaliser (a dbt macro named
by a reader kind, see ``dbt_project/macros/raw_readers.sql``), so a value staging can read is never quarantined
however many rows carry it, and a row staging cannot read is quarantined even when it is alone. Mart suites check
keys and reconcile row counts against raw.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml

from yiwang.contracts import Table, load_contract
from yiwang.warehouse import BUILD_SUFFIX

Layer = Literal["raw", "mart"]

# regexes over values as staging reads them (the ``text`` reader: trimmed, NULL when blank)
DIGITS_15 = r"^\d{15}$"
DIGITS_12 = r"^\d{12}$"
DIGITS_9 = r"^\d{9}$"
USCC = r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$"  # GB 32100: no I, O, Z, S, V
ITEM_CODE = r"^(?:XK|QR|JF|CJ|JL|QT|GG)\d{8}$"  # sxbm: type letters + 5-digit main + 3-digit sub
UNREADABLE = "<unreadable>"  # what a value reader yields where staging cannot read the value

# Row-wise expectation types: a failing row can be named, so it can be quarantined (expectations.run).
ROW_WISE = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_be_between",
    }
)


@dataclass(frozen=True)
class Check:
    """One expectation: ``type`` is the GX expectation type (``expect_column_values_to_not_be_null``).

    ``read`` (``(reader, raw column)``): the checked column is not raw text but the value staging reads from the
    raw column with that reader (a dbt macro, ``dbt_project/macros/raw_readers.sql``); its name is
    :func:`read_column`. ``value_set_from`` (``(schema, table, column)``) makes an in-set check referential: the
    value set is every value of that column in the current delivery (all landed rows, read with the same
    reader), never what survived an earlier gate. ``reason`` says in words why a failing row is quarantined."""

    type: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    value_set_from: tuple[str, str, str] | None = None
    read: tuple[str, str] | None = None
    reason: str = ""

    @property
    def column(self) -> str | None:
        return self.kwargs.get("column")

    def columns(self) -> set[str]:
        """Columns of the relation the check reads (the raw column for a read value)."""
        if self.read:
            return {self.read[1]}
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


def read_column(reader: str, column: str) -> str:
    """Name of the derived column holding ``column`` as read by ``reader`` (``_date__csrq``)."""
    return f"_{reader}__{column}"


def check(type_: str, *, value_set_from: tuple[str, str, str] | None = None, **kwargs: Any) -> Check:
    return Check(type_, kwargs, value_set_from)


def read_check(
    type_: str,
    reader: str,
    column: str,
    reason: str,
    *,
    value_set_from: tuple[str, str, str] | None = None,
    **kwargs: Any,
) -> Check:
    """A check on ``column`` as staging reads it with ``reader``."""
    return Check(
        type_, {"column": read_column(reader, column), **kwargs}, value_set_from, (reader, column), reason
    )


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
        query = (
            re.sub(r"\b(mart_\w+?)\.", lambda m: f"{m.group(1)}{suffix}.", self.query) if self.query else None
        )
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


# Codes by field name (the contract's meaning, one place): how staging reads them, and the format the value it
# reads must have (None: the reader itself is the test, NULL = unreadable). The reader follows the contract's
# dirt: host_uscc may be a legacy 9-char organisation code or lowercase, so it is read as either.
CODE_FIELDS: dict[str, tuple[str, str | None]] = {
    "wgbm": ("text", DIGITS_15),
    "sqbm": ("text", DIGITS_12),
    "qhdm": ("text", DIGITS_12),
    "division_code": ("text", DIGITS_12),
    "parent_code": ("text", DIGITS_12),
    "jdbm": ("text", DIGITS_9),
    "uscc": ("text", USCC),
    "sxbm": ("text", ITEM_CODE),
    "czbm_uscc": ("uscc", None),
    "bmUscc": ("uscc", None),
    "gysUscc": ("uscc", None),
    "host_uscc": ("org_code", None),
    "wyqy_uscc": ("org_code", None),
}
# Personal identifiers (sfzh, sqrzjhm) are never a reason to lose a record: staging keeps what it can read of
# them (identity.md) and a record without a valid ID is still a record. Phones and names likewise.

# Readers of value-list fields staging maps from other codes (contract dirt: xb "1"/"M", myd "5").
VALUE_READERS: dict[str, str] = {"xb": "gender", "myd": "satisfaction", "hfjg": "satisfaction"}
# Readers by contract type.
TYPE_READERS: dict[str, str] = {
    "date": "date",
    "timestamp": "timestamp",
    "datetime": "timestamp",
    "int": "int",
    "tinyint": "int",
    "boolean": "bool",
    "bool": "bool",
    "number": "decimal",
}

# key parts the contract says may be merged into another column: owners' building/unit/room come as "3-2-501"
MERGED_KEY_PARTS: dict[tuple[str, str], tuple[str, ...]] = {("property", "owners"): ("ld", "dy", "fh")}

# Referential checks: (system, table, column) -> (schema, table, column) of the values it must be one of, in the
# current delivery. Not here: wg_sj.lbdm (the contract lists "codes unknown to the reference list" as dirt:
# staging recovers the category from the text instead).
REFERENCES: dict[tuple[str, str, str], tuple[str, str, str]] = {
    ("grid", "wg_sj", "czbm_uscc"): ("raw_reference", "departments", "uscc"),
    ("grid", "wg_sj", "wgbm"): ("raw_grid", "wg_grid", "wgbm"),
    ("grid", "wg_syrk", "wgbm"): ("raw_grid", "wg_grid", "wgbm"),
    ("grid", "wg_wgy", "wgbm"): ("raw_grid", "wg_grid", "wgbm"),
    ("grid", "wg_grid", "sqbm"): ("raw_reference", "divisions", "division_code"),
    ("grid", "wg_sjlz", "sjbh"): ("raw_grid", "wg_sj", "sjbh"),
    ("party", "dj_org", "qhdm"): ("raw_reference", "divisions", "division_code"),
    ("party", "dj_dy", "org_id"): ("raw_party", "dj_org", "org_id"),
    ("party", "dj_shyk", "org_id"): ("raw_party", "dj_org", "org_id"),
    ("approval", "items", "bmUscc"): ("raw_reference", "departments", "uscc"),
    ("approval", "cases", "sxbm"): ("raw_approval", "items", "sxbm"),
    ("approval", "evaluations", "bjbh"): ("raw_approval", "cases", "bjbh"),
    ("services", "orders", "fwbm"): ("raw_services", "life_items", "fwbm"),
    # an empty parent_code is the root (the city itself): blank values are never checked
    ("reference", "divisions", "parent_code"): ("raw_reference", "divisions", "division_code"),
}


def _type_reader(ftype: str, spec: dict[str, Any]) -> str | None:
    t = ftype.lower()
    if spec.get("format") == "ISO8601":
        return "timestamp"
    if t.startswith("decimal"):
        return "decimal"
    return TYPE_READERS.get(t)


def contract_checks(system: str, table: str, *, skip_values: tuple[str, ...] = ()) -> list[Check]:
    """Every rule the contract implies for one raw table. Each is a rule about one row, never a share of rows:
    a row that breaks one is quarantined even when it is alone, and a value staging can read never is.

    - key and cursor: present (not blank);
    - typed fields (date, timestamp, int, decimal, boolean, ISO 8601): readable by staging's parser where filled;
    - value lists: the value staging reads is one of the contract's values;
    - codes (grid, division, street, credit, item codes): the value staging reads has the code's format;
    - references: the value is one the current delivery of the parent table / reference data holds.
    """
    t: Table = load_contract().table(system, table)
    specs = field_specs(system, table)
    merged = MERGED_KEY_PARTS.get((system, table), ())
    out: list[Check] = []
    # keys derived from the file path (estates: company) are not columns of raw
    for k in t.key:
        if k in t.columns and k not in merged:
            out.append(read_check("expect_column_values_to_not_be_null", "text", k, f"key {k} is missing"))
    if t.cursor and t.cursor not in t.key:
        out.append(
            read_check(
                "expect_column_values_to_not_be_null", "text", t.cursor, f"cursor {t.cursor} is missing"
            )
        )
    for f in t.fields:
        spec = specs.get(f.name, {})
        code = CODE_FIELDS.get(f.name)
        if f.values and f.name not in skip_values:
            reader = VALUE_READERS.get(f.name) or _type_reader(f.type, spec) or "text"
            out.append(
                read_check(
                    "expect_column_values_to_be_in_set",
                    reader,
                    f.name,
                    f"{f.name} is not one of the contract's values",
                    value_set=[str(v) for v in f.values] if reader != "gender" else ["M", "F"],
                )
            )
        elif code:
            reader, regex = code
            if regex:
                out.append(
                    read_check(
                        "expect_column_values_to_match_regex",
                        reader,
                        f.name,
                        f"{f.name} is not a valid code",
                        regex=regex,
                    )
                )
            else:
                out.append(
                    read_check(
                        "expect_column_values_to_not_be_in_set",
                        reader,
                        f.name,
                        f"{f.name} is not a valid code",
                        value_set=[UNREADABLE],
                    )
                )
        elif reader := _type_reader(f.type, spec):
            out.append(
                read_check(
                    "expect_column_values_to_not_be_in_set",
                    reader,
                    f.name,
                    f"{f.name} cannot be read as {reader}",
                    value_set=[UNREADABLE],
                )
            )
        ref = REFERENCES.get((system, table, f.name))
        if ref:
            reader = code[0] if code else "text"
            out.append(
                read_check(
                    "expect_column_values_to_be_in_set",
                    reader,
                    f.name,
                    f"{f.name} is not in {ref[0]}.{ref[1]}",
                    value_set=[],
                    value_set_from=ref,
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


# tsbq holds comma-separated tags, not one value of the list; sfsc is a tinyint flag
_EXTRA: dict[tuple[str, str], dict[str, Any]] = {
    ("grid", "wg_syrk"): {
        "skip_values": ("tsbq",),
        "extra": [
            read_check(
                "expect_column_values_to_be_in_set",
                "int",
                "sfsc",
                "sfsc is not a 0/1 flag",
                value_set=["0", "1"],
            )
        ],
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
    return (
        f'(select count(distinct upper(trim("{column}"))) from {schema}."{table}" '
        f"where trim(\"{column}\") <> '')"
    )


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
            *(
                check("expect_column_values_to_be_between", column=c, min_value=0)
                for c in CATALOG_NON_NEGATIVE
            ),
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
            check(
                "expect_column_pair_values_to_be_equal", column_A="mart_government", column_B="raw_government"
            ),
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
            checks += [
                check("expect_column_values_to_not_be_null", column=col),
                check("expect_column_values_to_be_unique", column=col),
            ]
        out.append(
            SuiteSpec(
                name=f"{schema}__{node['alias'] or node['name']}",
                layer="mart",
                schema=schema,
                table=node["alias"] or node["name"],
                checks=tuple(checks),
                batch_rows=None,
            )
        )
    return out


def suites(layer: Layer, manifest: dict[str, Any] | None = None) -> list[SuiteSpec]:
    if layer == "raw":
        return list(RAW_SUITES)
    known = {s.relation for s in MART_SUITES}
    return list(MART_SUITES) + (mart_key_suites(manifest, known) if manifest else [])
