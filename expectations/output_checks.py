"""Output gate: publish refuses marts that came out broken, comparing what dbt built into ``mart_<x>__build``
with the last published ``mart_<x>`` and with the deliveries (issue 10, part 3).

It runs inside :func:`yiwang.publish.publish`'s transaction, before anything is swapped in; a failure raises
:class:`OutputGateFailed` (naming mart, column and figures), the transaction rolls back and the public marts stay
exactly as the last good publish left them. What it found is written to ``ops.output_gate_log`` either way.

Dimensions are declared per public mart in its dbt model yml, ``config: {meta: {dimensions: {column: kind}}}``
(``{}`` for a mart without one); ``kind`` is one of :data:`REFERENCE_KEYS`. The rules:

a) dimension never empty (also on the first publish): a non-empty mart's dimension has at least one non-blank
   value, and a dimension the last publish had values in does not lose them all. Against the last publish:
   a dimension with no NULL/blank row must not get one; one that had some must not trade filled rows for
   blank ones (fewer filled AND more blank rows than last time — values went missing, not new rows arrived).
b) reference dimension does not shrink: a dimension's distinct values drop below the last publish's only when
   the reference delivery of its kind (distinct keys in raw: divisions, grids, departments, items, event
   categories) shrank too. The reference counts are recorded with every publish, for the next one to compare.
   Not for a *picked* dimension, declared ``meta: {picked_dimensions: {column: kind}}`` beside ``dimensions``:
   a column whose value each row picks from the data (the department that handled most of a community's
   events), so which values appear follows the data and one can drop out on an ordinary day's delivery; rule
   a) applies to it as to any dimension.
c) row count: with no delivery landed (``ops.load_ledger`` batch with new rows) since the last publish, a mart's
   row count moves at most ``Settings.publish_max_row_change`` (YIWANG_PUBLISH_MAX_ROW_CHANGE, default 0.2).

A deliberate change passes with ``yiwang build --accept-output-change`` (YIWANG_ACCEPT_OUTPUT_CHANGE=1): the
findings are then logged as ``accepted`` and the marts published.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from yiwang.dbt_runner import DBT_PROJECT_DIR
from yiwang.warehouse import BUILD_SUFFIX, Tx, Warehouse, qident, qname

# kind of a dimension -> the reference deliveries holding its keys: (schema, table, key column)
REFERENCE_KEYS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "division": (("raw_reference", "divisions", "division_code"),),
    "street": (("raw_reference", "divisions", "division_code"),),
    "community": (("raw_reference", "divisions", "division_code"),),
    "grid": (("raw_grid", "wg_grid", "wgbm"),),
    "department": (("raw_reference", "departments", "uscc"),),
    "item": (("raw_approval", "items", "sxbm"), ("raw_services", "life_items", "fwbm")),
    "category": (("raw_reference", "event_categories", "category_code"),),
}

LOG_DDL = [
    "create schema if not exists ops",
    """create table if not exists ops.output_gate_log (
        checked_at timestamp not null, build_id varchar not null, run_id varchar, outcome varchar not null,
        rule varchar not null, relation varchar, column_name varchar, previous_value double precision,
        current_value double precision, message varchar)""",
]

# rules in ops.output_gate_log: the findings, plus one `reference_keys` row per kind and one `summary` row
NEVER_EMPTY, NULL_APPEARED, NULL_SHIFT, DIMENSION_SHRANK, ROW_COUNT_MOVED, DIMENSION_MISSING = (
    "never_empty",
    "null_appeared",
    "null_shift",
    "dimension_shrank",
    "row_count_moved",
    "dimension_missing",
)


class OutputGateFailed(RuntimeError):
    """The marts dbt built look broken against the last publish; nothing was published."""

    def __init__(self, report: OutputReport) -> None:
        self.report = report
        super().__init__(report.message())


@dataclass(frozen=True)
class Finding:
    rule: str
    relation: str
    column: str | None
    previous: float | None
    current: float | None
    message: str


@dataclass
class OutputReport:
    findings: list[Finding] = field(default_factory=list)
    references: dict[str, int | None] = field(default_factory=dict)  # kind -> distinct reference keys now
    last_publish: dt.datetime | None = None
    new_batches: int | None = None  # ledger batches with new rows since the last publish (None: no ledger)
    marts: int = 0
    accepted: bool = False

    @property
    def failed(self) -> bool:
        return bool(self.findings)

    @property
    def outcome(self) -> str:
        return "accepted" if self.findings and self.accepted else ("failed" if self.findings else "passed")

    def message(self) -> str:
        since = (
            f"last publish {self.last_publish:%Y-%m-%d %H:%M:%S} UTC"
            if self.last_publish
            else "first publish"
        )
        lines = [
            f"output gate: {len(self.findings)} finding(s) in {self.marts} built marts ({since}); "
            "publish refused, the public marts stay as the last publish left them:"
        ]
        lines += [f"  - [{f.rule}] {f.message}" for f in self.findings]
        lines.append(
            "If the change is deliberate, publish with `yiwang build --accept-output-change` "
            "(or YIWANG_ACCEPT_OUTPUT_CHANGE=1)."
        )
        return "\n".join(lines)


# --- declarations -------------------------------------------------------------------------------------------


def _model_entries(project_dir: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in sorted((project_dir / "models").rglob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        out += [
            dict(m, _path=str(path)) for m in doc.get("models") or [] if isinstance(m, dict) and m.get("name")
        ]
    return out


@cache
def declared_dimensions(project_dir: Path | None = None) -> dict[str, dict[str, str]]:
    """Model name -> {dimension column: kind}, from ``config.meta.dimensions`` (or ``meta.dimensions``) of each
    model in the dbt project's yml; models without a declaration are absent."""
    if project_dir is None:
        project_dir = DBT_PROJECT_DIR
    return {name: {**dims, **picked} for name, (dims, picked) in _declared(Path(project_dir)).items()}


@cache
def declared_picks(project_dir: Path | None = None) -> dict[str, set[str]]:
    """Model name -> its picked dimension columns (``meta.picked_dimensions``: rule b does not apply)."""
    if project_dir is None:
        project_dir = DBT_PROJECT_DIR
    return {name: set(picked) for name, (_, picked) in _declared(Path(project_dir)).items() if picked}


@cache  # declared_dimensions and declared_picks read the same yml files: once
def _declared(project_dir: Path) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
    out: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
    for m in _model_entries(project_dir):
        meta = {**(m.get("meta") or {}), **((m.get("config") or {}).get("meta") or {})}
        declared = []
        for key in ("dimensions", "picked_dimensions"):
            dims = meta.get(key)
            if dims is not None and not isinstance(dims, dict):
                raise ValueError(
                    f"{m['_path']}: model {m['name']}: meta.{key} must map column -> kind "
                    f"({', '.join(REFERENCE_KEYS)}), not {dims!r}"
                )
            declared.append({str(c): str(k) for c, k in (dims or {}).items()})
        if meta.get("dimensions") is not None or meta.get("picked_dimensions") is not None:
            out[m["name"]] = (declared[0], declared[1])
    return out


# --- measuring ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    rows: int
    blank: dict[str, int]  # NULL or blank rows per dimension column
    distinct: dict[str, int]  # distinct non-blank values per dimension column

    def filled(self, column: str) -> int:
        return self.rows - self.blank[column]


def _text(column: str) -> str:
    return f"nullif(trim(cast({qident(column)} as varchar)), '')"


def profile(tx: Tx, schema: str, table: str, columns: list[str]) -> Profile:
    """Row count, NULL/blank rows and distinct values of each column, in one scan."""
    parts = ["count(*)"]
    for c in columns:
        parts += [f"count(*) - count({_text(c)})", f"count(distinct {_text(c)})"]
    row = tx.query(f"select {', '.join(parts)} from {qname(schema, table)}")[0]
    return Profile(
        int(row[0]),
        {c: int(row[1 + 2 * i] or 0) for i, c in enumerate(columns)},
        {c: int(row[2 + 2 * i] or 0) for i, c in enumerate(columns)},
    )


def _base_table(tx: Tx, schema: str, table: str) -> bool:
    return (
        tx.scalar(
            "select table_type from information_schema.tables where table_schema = ? and table_name = ?",
            [schema, table],
        )
        == "BASE TABLE"
    )


def reference_keys(tx: Tx, kind: str, loaded_by: dt.datetime | None = None) -> int | None:
    """Distinct non-blank keys the reference deliveries of ``kind`` hold (raw, trimmed, upper-cased); with
    ``loaded_by`` only rows landed by then (raw is append-only, so that is what it held at that time)."""
    total, seen = 0, False
    for schema, table, column in REFERENCE_KEYS[kind]:
        if not tx.table_exists(schema, table) or column not in tx.columns(schema, table):
            continue
        seen = True
        sql = (
            f"select count(distinct upper(trim({qident(column)}))) from {qname(schema, table)} "
            f"where trim({qident(column)}) <> ''"
        )
        params: list[Any] = []
        if loaded_by is not None and "_loaded_at" in tx.columns(schema, table):
            sql += " and _loaded_at <= ?"
            params.append(loaded_by)
        total += int(tx.scalar(sql, params or None) or 0)
    return total if seen else None


def _last_publish(tx: Tx) -> tuple[str, dt.datetime] | None:
    if not tx.table_exists("ops", "build_log"):
        return None
    rows = tx.query("select build_id, published_at from ops.build_log order by published_at desc limit 1")
    return (rows[0][0], rows[0][1]) if rows else None


def _previous_references(
    tx: Tx, build_id: str, published_at: dt.datetime, kinds: set[str]
) -> dict[str, int | None]:
    recorded: dict[str, int] = {}
    if tx.table_exists("ops", "output_gate_log"):
        recorded = {
            k: int(v)
            for k, v in tx.query(
                "select column_name, current_value from ops.output_gate_log where build_id = ? and rule = 'reference_keys'"
                " and current_value is not null",
                [build_id],
            )
        }
    return {k: recorded[k] if k in recorded else reference_keys(tx, k, published_at) for k in kinds}


def _new_batches(tx: Tx, since: dt.datetime) -> int | None:
    if not tx.table_exists("ops", "load_ledger"):
        return None
    cols = tx.columns("ops", "load_ledger")
    landed = "rows_new" if "rows_new" in cols else "rows_landed"
    return int(
        tx.scalar(f"select count(*) from ops.load_ledger where finished_at > ? and {landed} > 0", [since])
        or 0
    )


# --- the gate ----------------------------------------------------------------------------------------------


def check_output(
    tx: Tx,
    tables: list[tuple[str, str]],
    *,
    max_row_change: float,
    dimensions: dict[str, dict[str, str]] | None = None,
    picks: dict[str, set[str]] | None = None,
) -> OutputReport:
    """Apply rules a-c (module docstring) to every built mart ``(mart_<x>__build, table)``; reads only.
    ``dimensions`` (model -> column -> kind, picked ones included) and ``picks`` (model -> picked columns)
    default to the project's declarations."""
    dims_of = declared_dimensions() if dimensions is None else dimensions
    picks_of = (declared_picks() if dimensions is None else {}) if picks is None else picks
    report = OutputReport(marts=len(tables))
    last = _last_publish(tx)
    kinds = {k for d in dims_of.values() for k in d.values() if k in REFERENCE_KEYS}
    report.references = {k: reference_keys(tx, k) for k in sorted(kinds)}
    previous_refs: dict[str, int | None] = {}
    if last:
        report.last_publish = last[1]
        report.new_batches = _new_batches(tx, last[1])
        previous_refs = _previous_references(tx, last[0], last[1], kinds)
    add = report.findings.append
    for build_schema, table in tables:
        public = build_schema.removesuffix(BUILD_SUFFIX)
        rel = f"{public}.{table}"
        built_cols = tx.columns(build_schema, table)
        declared = dims_of.get(table, {})
        for c in declared:
            if c not in built_cols:
                add(
                    Finding(
                        DIMENSION_MISSING,
                        rel,
                        c,
                        None,
                        None,
                        f"{rel}: declared dimension column {c} is not in the built mart",
                    )
                )
        dims = [c for c in declared if c in built_cols]
        now = profile(tx, build_schema, table, dims)
        before = None
        if last and _base_table(tx, public, table):
            public_cols = tx.columns(public, table)
            before = profile(tx, public, table, [c for c in dims if c in public_cols])
        for c in dims:
            had = before is not None and c in before.blank
            if now.rows and not now.distinct[c]:
                add(
                    Finding(
                        NEVER_EMPTY,
                        rel,
                        c,
                        before.distinct[c] if had else None,
                        0,
                        f"{rel}.{c}: no value in any of {now.rows} rows"
                        + (f" (last publish: {before.distinct[c]} distinct values)" if had else ""),
                    )
                )
                continue
            if not had:
                continue
            if not now.rows and before.distinct[c]:
                add(
                    Finding(
                        NEVER_EMPTY,
                        rel,
                        c,
                        before.distinct[c],
                        0,
                        f"{rel}.{c}: no rows, no value (last publish: {before.distinct[c]} distinct values "
                        f"in {before.rows} rows)",
                    )
                )
                continue
            if before.rows and not before.blank[c] and now.blank[c]:
                add(
                    Finding(
                        NULL_APPEARED,
                        rel,
                        c,
                        0,
                        now.blank[c],
                        f"{rel}.{c}: {now.blank[c]} of {now.rows} rows NULL/blank "
                        f"(last publish: none of {before.rows})",
                    )
                )
            elif before.blank[c] and now.blank[c] > before.blank[c] and now.filled(c) < before.filled(c):
                add(
                    Finding(
                        NULL_SHIFT,
                        rel,
                        c,
                        before.blank[c],
                        now.blank[c],
                        f"{rel}.{c}: NULL/blank rows {before.blank[c]} -> {now.blank[c]} while filled rows "
                        f"{before.filled(c)} -> {now.filled(c)}",
                    )
                )
            kind = declared[c]
            if now.distinct[c] < before.distinct[c] and c not in picks_of.get(table, ()):
                ref_now, ref_before = report.references.get(kind), previous_refs.get(kind)
                if ref_now is None or ref_before is None or ref_now >= ref_before:
                    where = ", ".join(f"{s}.{t}" for s, t, _ in REFERENCE_KEYS.get(kind, ())) or "none"
                    refs = " -> ".join("?" if n is None else str(n) for n in (ref_before, ref_now))
                    add(
                        Finding(
                            DIMENSION_SHRANK,
                            rel,
                            c,
                            before.distinct[c],
                            now.distinct[c],
                            f"{rel}.{c}: {before.distinct[c]} -> {now.distinct[c]} distinct {kind} values while "
                            f"the reference deliveries ({where}) did not shrink: {refs} keys",
                        )
                    )
        if before is not None and report.new_batches == 0:
            moved = abs(now.rows - before.rows) / before.rows if before.rows else (1.0 if now.rows else 0.0)
            if moved > max_row_change:
                add(
                    Finding(
                        ROW_COUNT_MOVED,
                        rel,
                        None,
                        before.rows,
                        now.rows,
                        f"{rel}: {before.rows} -> {now.rows} rows ({moved:.0%} change, limit {max_row_change:.0%})"
                        f" with no delivery landed since the last publish",
                    )
                )
    return report


def record(tx: Tx, report: OutputReport, build_id: str, run_id: str | None) -> None:
    """Write the report to ``ops.output_gate_log``: each finding, the reference key counts, a summary row."""
    for stmt in LOG_DDL:
        tx.execute(stmt)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    outcome = report.outcome
    rows: list[list[Any]] = [
        [now, build_id, run_id, outcome, f.rule, f.relation, f.column, f.previous, f.current, f.message]
        for f in report.findings
    ]
    rows += [
        [
            now,
            build_id,
            run_id,
            outcome,
            "reference_keys",
            ", ".join(f"{s}.{t}" for s, t, _ in REFERENCE_KEYS[k]),
            k,
            None,
            v,
            None,
        ]
        for k, v in report.references.items()
    ]
    rows.append(
        [
            now,
            build_id,
            run_id,
            outcome,
            "summary",
            None,
            None,
            None,
            len(report.findings),
            f"{report.marts} marts checked, {len(report.findings)} finding(s), new delivery batches since the "
            f"last publish: {report.new_batches}",
        ]
    )
    for r in rows:
        tx.execute("insert into ops.output_gate_log values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", r)


def gate(
    tx: Tx,
    tables: list[tuple[str, str]],
    *,
    max_row_change: float,
    accept: bool,
    project_dir: Path | None = None,
) -> OutputReport:
    """Check; raise :class:`OutputGateFailed` on a finding unless ``accept``. The caller records the report
    (:func:`record`) in the publish transaction, or with :func:`record_refusal` after it rolled back. The
    dimensions are those declared in the dbt project that built the marts (``project_dir``)."""
    report = check_output(
        tx,
        tables,
        max_row_change=max_row_change,
        dimensions=declared_dimensions(project_dir),
        picks=declared_picks(project_dir),
    )
    report.accepted = accept
    if report.failed and not accept:
        raise OutputGateFailed(report)
    return report


def record_refusal(wh: Warehouse, error: OutputGateFailed, build_id: str, run_id: str | None) -> None:
    with wh.transaction() as tx:
        record(tx, error.report, build_id, run_id)
