"""Run the GX gates: the raw gate (before dbt) and the mart gate (before publish).

Every suite is validated as pandas dataframes, on DuckDB and PostgreSQL alike: GX 1.24 cannot validate
DuckDB through its SQL data source, and one code path for both warehouses keeps the gates identical. Data
is read over a read-only connection, only the columns the checks use, in batches of ``SuiteSpec.batch_rows``
rows; the results of row-wise checks are summed across batches (``mostly`` is applied to the totals). The raw gate
reads only the raw batches it has not validated before (``ops.raw_gate_batches``, see :func:`_plan`), with the
outcome of reading every row.

The GX file context lives in ``Settings.gx_dir`` (generated at run time, never committed); each suite has
its own checkpoint (dataframe batch parameters go to every validation definition of a checkpoint) with an
``UpdateDataDocsAction``. Results keep counts only (``partial_unexpected_count=0``): raw values such as ID
numbers never reach the Data Docs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import psycopg
import pyarrow as pa
from sqlalchemy.engine import make_url

from expectations.suites import (
    MART_SUITES,
    UNREADABLE,
    Check,
    Layer,
    SuiteSpec,
    field_specs,
    read_column,
    suites,
)
from yiwang.contracts import load_contract
from yiwang.dbt_runner import DBT_PROJECT_DIR, compile_inline, default_target, manifest_path, release_duckdb
from yiwang.ops import OPS_DDL, ensure_ops, quarantine_data, quarantine_row
from yiwang.settings import Settings, get_settings, hmac_key
from yiwang.warehouse import apply_duckdb_limits, open_warehouse, qident, qliteral, qname

# Schema drift is a changed column set, never a share of dirty values: a contract field that other batches fill
# is empty in every row of a load batch of at least DRIFT_MIN_ROWS rows (a column dropped at the source). The
# gate fails, naming system, table and column. Dirty values, however many, are judged row by row.
DRIFT_MIN_ROWS = 5
META = ("_row_hash", "_batch_id", "_source_file")
HAND_WRITTEN = frozenset(s.name for s in MART_SUITES)  # these fail when their mart is missing

DATA_SOURCE = "yiwang_frames"
RESULT_FORMAT: dict[str, Any] = {"result_format": "BASIC", "partial_unexpected_count": 0}


@dataclass
class SuiteStats:
    suite: str
    relation: str
    success: bool
    evaluated: int
    successful: int
    rows: int = 0
    batches: int = 0
    failed: list[str] = field(default_factory=list)  # "expect_x(column=y): 12 of 100 unexpected"
    error: str | None = None  # the suite could not run at all (table missing, warehouse missing)
    quarantined: int = 0  # raw rows sent to ops.quarantine by this gate run (row-wise failures)
    drift: list[str] = field(default_factory=list)  # schema drift found: names system, table and column
    notes: list[str] = field(default_factory=list)
    rows_in_table: int = 0  # raw gate: rows the table holds (``rows``: the rows this run read of them)
    scope: str = ""  # raw gate: what this run read (every row and why, new batches, earlier rejects)


@dataclass
class GateResult:
    gate: Layer
    success: bool
    suites: list[SuiteStats]
    docs_path: str | None

    @property
    def quarantined(self) -> int:
        return sum(s.quarantined for s in self.suites)

    @property
    def statistics(self) -> dict[str, dict[str, int]]:
        return {s.suite: {"evaluated": s.evaluated, "successful": s.successful} for s in self.suites}

    def failed_expectations(self) -> dict[str, list[str]]:
        return {s.suite: s.failed for s in self.suites if not s.success}

    def to_dict(self) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "success": self.success,
            "docs_path": self.docs_path,
            "rows_read": self.rows_read,
            "suites": [asdict(s) for s in self.suites],
        }

    @property
    def rows_read(self) -> dict[str, int]:
        """Rows each suite read this run (the raw gate reads only batches it has not validated before)."""
        return {s.suite: s.rows for s in self.suites}

    def summary(self) -> str:
        lines = [f"{self.gate} gate: {'passed' if self.success else 'FAILED'} (docs: {self.docs_path})"]
        for s in self.suites:
            mark = "ok " if s.success else "BAD"
            q = f", {s.quarantined} rows quarantined" if s.quarantined else ""
            rows = f"read {s.rows} of {s.rows_in_table} rows ({s.scope})" if s.scope else f"{s.rows} rows"
            lines.append(f"  {mark} {s.suite}: {s.successful}/{s.evaluated} expectations, {rows}{q}")
            lines += [f"      {f}" for f in ([s.error] if s.error else []) + s.drift + s.failed]
        return "\n".join(lines)


class GateFailed(RuntimeError):
    """A gate failed; ``result`` holds the per-suite statistics and the Data Docs path."""

    def __init__(self, result: GateResult) -> None:
        self.result = result
        super().__init__(result.summary())


# --- what the raw gate validated before: ops.raw_gate_batches --------------------------------------------
# The raw gate reads only the batches it has not validated (raw is append-only: a validated batch's rows never
# change), plus, when a table it references received new batches, the rows it rejected earlier (a reference only
# gains values, so only a rejected row's verdict can change). A batch's record keeps what the gate needs of it to
# judge the table as a whole again without reading it: its rows, the required columns it fills (a column dropped
# at the source is judged against every batch) and its own schema drift. Records are written in the transaction
# that writes the verdicts; the suite's fingerprint (its rules, staging's value readers, the columns delivered)
# makes a changed rule re-validate every row.

# bump when the gate judges rows differently with the same suites (the fingerprint then changes for every table)
GATE_RULES_VERSION = 1

RAW_GATE_BATCHES_DDL = """create table if not exists ops.raw_gate_batches (
    system varchar not null, table_name varchar not null, batch_id varchar not null,
    rows_validated bigint not null, filled_columns varchar not null, drift varchar not null,
    suite_fingerprint varchar not null, validated_at timestamp not null)"""


@dataclass(frozen=True)
class _BatchRecord:
    """One batch of a raw table as the gate validated it (a row of ops.raw_gate_batches)."""

    rows: int
    filled: frozenset[str]  # required contract columns some row of the batch fills
    drift: tuple[str, ...]  # the batch's own schema drift (every filled value of a column unreadable)
    fingerprint: str


@dataclass
class _TableState:
    batches: dict[str | None, int]  # rows per _batch_id in raw now
    recorded: dict[str, _BatchRecord]  # batches validated before

    @property
    def consistent(self) -> bool:
        """Every recorded batch is still in raw with the rows it had (no reload, no row without a batch)."""
        return None not in self.batches and all(
            self.batches.get(b) == r.rows for b, r in self.recorded.items()
        )

    @property
    def new(self) -> set[str | None]:
        return set(self.batches) - set(self.recorded)


@dataclass
class _Delta:
    """What one raw suite reads this run."""

    full: str | None  # why every row is read; None: only new batches (and earlier rejects when ``recheck``)
    batches: dict[str | None, int]  # rows per batch in the table
    fresh: set[str | None]  # batches validated whole this run (every batch when ``full``)
    recheck: bool  # a referenced table received new batches: the rows rejected before are read again
    kept: dict[str, _BatchRecord]  # batches validated before and not read again (none when ``full``)
    fingerprint: str

    @property
    def reads(self) -> bool:
        return bool(self.full or self.fresh or self.recheck)

    @property
    def scope(self) -> str:
        if self.full:
            return f"every row: {self.full}"
        if not self.reads:
            return "nothing new"
        parts = [f"{len(self.fresh)} new batches"] if self.fresh else []
        return ", ".join([*parts, *(["rows rejected before"] if self.recheck else [])])

    def where(self, system: str, table: str) -> str:
        """The read SQL's filter (after ``from <table> r``)."""
        if self.full:
            return ""
        terms = []
        if self.fresh:
            terms.append(
                f"r._batch_id in ({', '.join(qliteral(str(b)) for b in sorted(self.fresh, key=str))})"
            )
        if self.recheck:
            terms.append(
                "r._row_hash in (select x._row_hash from ops.raw_rejects x where x.system = "
                f"{qliteral(system)} and x.table_name = {qliteral(table)} and x.rule like 'gx:%')"
            )
        return " where " + " or ".join(terms) if terms else " where false"


def suite_fingerprint(spec: SuiteSpec, present: list[str], templates: dict[str, str]) -> str:
    """What the raw gate's verdict on a row depends on besides the data: the suite's checks, staging's value
    readers, the drift threshold and which of the columns it checks the table has."""
    doc = {
        "version": GATE_RULES_VERSION,
        "suite": spec.name,
        "relation": spec.relation,
        "checks": [[c.type, c.kwargs, c.value_set_from, c.read, c.reason] for c in spec.checks],
        "drift_min_rows": DRIFT_MIN_ROWS,
        "readers": templates,
        "columns": sorted(set(spec.columns()) & set(present)),
        "required": _required_columns(spec, present),
    }
    text = json.dumps(doc, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _plan(
    reader: _Reader, declared: SuiteSpec, spec: SuiteSpec, present: list[str], hard: list[str]
) -> _Delta:
    """Which rows of a raw table this run reads: every row when nothing is recorded, re-validation is forced,
    the suite's fingerprint changed, a recorded batch is gone or changed (a reloaded table) or a reference is
    missing or was reloaded; else the new batches, and the rows rejected before when a referenced table has
    new batches."""
    fp = suite_fingerprint(declared, present, reader.templates)
    own = reader.table_state(spec.schema, spec.table)
    refs = sorted({c.value_set_from[:2] for c in spec.checks if c.value_set_from})
    why: str | None = None
    if reader.full:
        why = "re-validation forced"
    elif not own.recorded:
        why = "no batch validated before"
    elif any(r.fingerprint != fp for r in own.recorded.values()):
        why = "the suite's rules changed"
    elif not own.consistent:
        why = "batches validated before changed"
    elif hard:
        why = "a reference is missing"
    else:
        why = next(
            (f"reference {s}.{t} reloaded" for s, t in refs if not reader.table_state(s, t).consistent), None
        )
    if why:
        return _Delta(why, own.batches, set(own.batches), False, {}, fp)
    recheck = any(reader.table_state(s, t).new for s, t in refs)
    return _Delta(None, own.batches, own.new, recheck, own.recorded, fp)


# --- reading the warehouse --------------------------------------------------------------------------


class _Reader:
    """A read-only warehouse connection that yields query results as dataframes in batches."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.duck = settings.is_duckdb
        self._con: Any = None
        self.templates: dict[str, str] = {}  # reader kind -> SQL with __COL__ (see raw_reader_templates)
        self.full = False  # raw gate: read every row, whatever ops.raw_gate_batches says was validated
        self._states: dict[tuple[str, str], _TableState] = {}
        self._has_records: bool | None = None

    @contextmanager
    def open(self) -> Iterator[_Reader]:
        if self.duck:
            release_duckdb()  # an in-process dbt run (dags test, CLI build) may still hold the file
            path = self.settings.duckdb_path
            if not path.exists():
                raise FileNotFoundError(f"warehouse {path} does not exist: run the extract DAGs first")
            self._con = duckdb.connect(str(path), read_only=True)
            apply_duckdb_limits(self._con)
        else:
            url = make_url(self.settings.warehouse_url).set(drivername="postgresql")
            self._con = psycopg.connect(url.render_as_string(hide_password=False))
            self._con.read_only = True
            # one snapshot for the whole run: the batches counted are the batches read and recorded
            self._con.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        try:
            yield self
        finally:
            self._con.close()
            self._con = None

    def _fetch(self, sql: str, params: list[Any]) -> list[tuple]:
        if self.duck:
            return self._con.execute(sql, params).fetchall()
        with self._con.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), params)
            return cur.fetchall()

    def columns(self, schema: str, table: str) -> list[str]:
        rows = self._fetch(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?"
            " order by ordinal_position",
            [schema, table],
        )
        return [r[0] for r in rows]

    def table_state(self, schema: str, table: str) -> _TableState:
        """A raw table's batches (rows per ``_batch_id``) and what ops.raw_gate_batches records of it; read once
        per gate run."""
        key = (schema, table)
        if key not in self._states:
            cols = self.columns(schema, table)
            batches: dict[str | None, int] = {}
            if cols:
                batch = "r._batch_id" if "_batch_id" in cols else "null"
                rows = self._fetch(f"select {batch}, count(*) from {qname(schema, table)} r group by 1", [])
                batches = {b: int(n) for b, n in rows}
            recorded: dict[str, _BatchRecord] = {}
            if self._has_records is None:
                self._has_records = bool(
                    self._fetch(
                        "select count(*) from information_schema.tables "
                        "where table_schema = 'ops' and table_name = 'raw_gate_batches'",
                        [],
                    )[0][0]
                )
            if self._has_records:
                for b, n, filled, drift, fp in self._fetch(
                    "select batch_id, rows_validated, filled_columns, drift, suite_fingerprint "
                    "from ops.raw_gate_batches where system = ? and table_name = ?",
                    [schema.removeprefix("raw_"), table],
                ):
                    recorded[b] = _BatchRecord(
                        int(n), frozenset(json.loads(filled)), tuple(json.loads(drift)), fp
                    )
            self._states[key] = _TableState(batches, recorded)
        return self._states[key]

    def frames(self, sql: str, batch_rows: int | None) -> Iterator[pd.DataFrame]:
        if self.duck:
            reader = self._con.sql(sql).to_arrow_reader(batch_rows or 1_000_000)
            if batch_rows is None:
                yield reader.read_all().to_pandas()
                return
            # DuckDB hands out record batches of at most one row group (122,880 rows) whatever is asked for:
            # gather them into frames of batch_rows, or a big table is validated in 4x as many GX runs

            n, pending, held = 0, [], 0
            for rb in reader:
                pending.append(rb)
                held += rb.num_rows
                while held >= batch_rows:
                    table = pa.Table.from_batches(pending, schema=reader.schema)
                    n += 1
                    yield table.slice(0, batch_rows).to_pandas()
                    rest = table.slice(batch_rows)
                    pending, held = rest.to_batches(), rest.num_rows
            if held or n == 0:
                yield pa.Table.from_batches(pending, schema=reader.schema).to_pandas()
            return
        with self._con.cursor(name="yiwang_gx") as cur:
            cur.execute(sql)
            n = 0
            while True:
                rows = cur.fetchmany(batch_rows) if batch_rows else cur.fetchall()
                cols = [d.name for d in cur.description]
                if not rows and n:
                    return
                n += 1
                yield pd.DataFrame.from_records(rows, columns=cols)
                if not batch_rows or len(rows) < batch_rows:
                    return


READER_PLACEHOLDER = "__COL__"


def reader_templates(settings: Settings) -> dict[str, str]:
    """SQL of every value reader (``dbt_project/macros/raw_readers.sql``) for the configured warehouse, with
    ``__COL__`` where the column goes. Compiled by dbt from staging's own macros; cached under YIWANG_HOME by a
    hash of the macro files, so a changed normaliser is picked up at once."""

    target = default_target(settings)
    digest = hashlib.sha256(target.encode())
    for f in sorted((DBT_PROJECT_DIR / "macros").rglob("*.sql")):
        digest.update(f.relative_to(DBT_PROJECT_DIR).as_posix().encode() + b"\0" + f.read_bytes())
    cache = settings.home / "cache" / f"raw_readers-{target}-{digest.hexdigest()[:16]}.json"
    if cache.exists():
        return json.loads(cache.read_text(encoding="utf-8"))
    compiled = compile_inline(
        f"{{{{ tojson(raw_reader_templates('{READER_PLACEHOLDER}')) }}}}", target, settings=settings
    )
    templates = json.loads(compiled)
    cache.parent.mkdir(parents=True, exist_ok=True)
    for old in cache.parent.glob(f"raw_readers-{target}-*.json"):
        old.unlink(missing_ok=True)
    cache.write_text(json.dumps(templates, ensure_ascii=False), encoding="utf-8")
    return templates


def _read_expr(templates: dict[str, str], reader: str, column_sql: str) -> str:
    """``column_sql`` as staging reads it with ``reader``, as text: NULL when blank, UNREADABLE when staging
    cannot read it."""
    blank = templates["blank"].replace(READER_PLACEHOLDER, column_sql)
    value = templates[reader].replace(READER_PLACEHOLDER, column_sql)
    return (
        f"(case when {blank} then null else coalesce(cast({value} as varchar), {qliteral(UNREADABLE)}) end)"
    )


IN_REFERENCE = "in"  # the reference flag of a value found in the reference (see _reference_flag)


def reference_flag_column(c: Check) -> str:
    """The column flagging, per row, whether the value a referential check reads is in its reference."""
    assert c.read is not None and c.value_set_from is not None
    schema, table, _ = c.value_set_from
    return f"{read_column(*c.read)}__in__{schema}__{table}"


def _reference_flag(templates: dict[str, str], c: Check, value: str) -> str:
    """SQL of :func:`reference_flag_column`: NULL where the value read is NULL (not checked, as GX skips nulls),
    ``'in'`` where the reference (every value of the current delivery, read with the same reader) holds it, else
    ``'not in'``. The warehouse joins the reference; GX sees one short flag instead of the whole value set."""
    assert c.read is not None and c.value_set_from is not None
    schema, table, column = c.value_set_from
    ref = _read_expr(templates, c.read[0], "ref." + qident(column))
    return (
        f"(case when {value} is null then null when {value} in (select {ref} from {qname(schema, table)} ref "
        f"where {ref} is not null) then {qliteral(IN_REFERENCE)} else 'not in' end)"
    )


def _select(spec: SuiteSpec, present: list[str], templates: dict[str, str], *, extra: list[str] = ()) -> str:  # type: ignore[assignment]
    if spec.query:
        return spec.query
    wanted = [c for c in dict.fromkeys([*spec.columns(), *extra]) if c in present] or present[:1]
    items = ["r." + qident(c) for c in wanted]
    reads: dict[str, str] = {}
    for c in spec.checks:
        if c.read and c.read[1] in present:
            reader, col = c.read
            value = _read_expr(templates, reader, "r." + qident(col))
            if c.value_set_from is not None and c.column == reference_flag_column(c):
                reads.setdefault(c.column, _reference_flag(templates, c, value))
            else:
                reads.setdefault(read_column(reader, col), value)
    items += [f"{expr} as {qident(name)}" for name, expr in reads.items()]
    return f"select {', '.join(items)} from {qname(spec.schema, spec.table)} r"


# --- GX ----------------------------------------------------------------------------------------------


# One GX file context per GX project directory and process: the build DAG runs the raw gate and the mart gate in
# one process (every task of a `yiwang demo` / `dags test` run), and opening the context again cost each gate its
# config load. Dropped when its directory's config is gone (a test's fresh directory, a home wiped).
_CONTEXTS: dict[Path, Any] = {}


def _gx_context(settings: Settings) -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx  # noqa: PLC0415 - GX takes seconds to import; only a gate run needs it
    from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: PLC0415 - GX takes seconds to import; only a gate run needs it

    root = settings.gx_dir.resolve()
    context = _CONTEXTS.get(root)
    if context is not None and (root / "gx" / "great_expectations.yml").is_file():
        return context
    root.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(root))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    _CONTEXTS[root] = context
    return context


class _GxRun:
    """One gate run's GX: the file context, opened on first use (importing GX takes seconds, and a raw gate with
    nothing new to read never needs it), and what the run validated, whose Data Docs pages are built (not every
    result the store holds: building those grows with every run)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._context: Any = None
        self._source: Any = None
        self.validated: list[Any] = []  # suite and validation result identifiers of this run

    @property
    def context(self) -> Any:
        if self._context is None:
            self._context = _gx_context(self.settings)
        return self._context

    @property
    def source(self) -> Any:
        """The pandas data source every suite's dataframes go through, as the project holds it (added when it does
        not). Kept from run to run: added again, it would drop every suite's data asset, and with them what the
        stored validation definitions name, so each suite would have to be saved again on every run."""
        if self._source is None:
            try:
                source = self.context.data_sources.get(DATA_SOURCE)
            except KeyError:
                source = None
            if source is None or getattr(source, "type", None) != "pandas":
                source = self.context.data_sources.add_or_update_pandas(DATA_SOURCE)
            self._source = source
        return self._source

    def build_docs(self) -> str | None:
        """Build this run's Data Docs pages and the index; the index's path (None when there is none)."""
        if self._context is None:
            index = docs_index(self.settings)
            return str(index) if index.exists() else None
        if self.validated:
            self._context.build_data_docs(resource_identifiers=self.validated)
        return _docs_path(self._context)


def _expectation(c: Check) -> Any:
    import great_expectations as gx  # noqa: PLC0415 - GX takes seconds to import; only a gate run needs it

    cls_name = "".join(p.capitalize() for p in c.type.split("_"))
    return getattr(gx.expectations, cls_name)(**c.kwargs)


def _checkpoint_name(spec: SuiteSpec) -> str:
    return f"{spec.layer}_gate__{spec.name}"


def _expectation_definition(e: Any) -> dict[str, Any]:
    """What an expectation checks: its configuration less its id (GX keeps an unchanged expectation's id)."""
    doc = e.configuration.to_json_dict()
    doc.pop("id", None)
    doc.pop("rendered_content", None)
    return doc


def _stored_checkpoint(context: Any, source: Any, spec: SuiteSpec, expectations: list[Any]) -> Any:
    """The suite's checkpoint as the GX project stores it, when it is what :func:`_checkpoint` would save now:
    one validation definition of the suite's name on the whole-frame batch of the suite's asset in the data source
    as it is, the same expectations in the same order, no actions, the same result format. None otherwise (not
    saved yet, a check changed, an asset gone): then the suite, validation definition and checkpoint are saved.
    Saving them unchanged on every run (each save rewrites the project config) was most of the mart gate's time
    outside validation."""
    from great_expectations.exceptions import DataContextError  # noqa: PLC0415 - GX takes seconds to import; only a gate run needs it

    try:
        checkpoint = context.checkpoints.get(_checkpoint_name(spec))
        vds = checkpoint.validation_definitions
        if len(vds) != 1 or checkpoint.actions or dict(checkpoint.result_format) != RESULT_FORMAT:
            return None
        vd = vds[0]
        batch_def = vd.data
        current = source.get_asset(spec.name).get_batch_definition("whole_frame")
    except (DataContextError, LookupError, KeyError, ValueError, TypeError, AttributeError):
        return None
    if (
        vd.name != spec.name
        or vd.suite.name != spec.name
        or batch_def.name != "whole_frame"
        or batch_def.data_asset.name != spec.name
        or batch_def.data_asset.datasource.name != DATA_SOURCE
        or batch_def.id != current.id
    ):
        return None
    stored = [_expectation_definition(e) for e in vd.suite.expectations]
    if stored != [_expectation_definition(e) for e in expectations]:
        return None
    return checkpoint


def _checkpoint(gx_run: _GxRun, spec: SuiteSpec) -> tuple[Any, list[str]]:
    import great_expectations as gx  # noqa: PLC0415 - GX takes seconds to import; only a gate run needs it
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier  # noqa: PLC0415 - GX takes seconds to import; only a gate run needs it

    context = gx_run.context
    gx_run.validated.append(ExpectationSuiteIdentifier(name=spec.name))
    source = gx_run.source
    expectations = [_expectation(c) for c in spec.checks]
    stored = _stored_checkpoint(context, source, spec, expectations)
    if stored is not None:  # saved by an earlier run as this run would save it: not written again
        return stored, [e.id for e in stored.validation_definitions[0].suite.expectations]
    try:
        asset = source.get_asset(spec.name)
    except LookupError:
        asset = source.add_dataframe_asset(spec.name)
    try:
        batch_def = asset.get_batch_definition("whole_frame")
    except KeyError:
        batch_def = asset.add_batch_definition_whole_dataframe("whole_frame")
    suite = context.suites.add_or_update(gx.ExpectationSuite(name=spec.name, expectations=expectations))
    vd = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=spec.name, data=batch_def, suite=suite)
    )
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=_checkpoint_name(spec),
            validation_definitions=[vd],
            actions=[],  # Data Docs are built once per gate run (run_gate), not once per suite
            result_format=RESULT_FORMAT,
        )
    )
    return checkpoint, [e.id for e in suite.expectations]


@dataclass
class _Tally:
    check: Check
    element: int = 0
    missing: int = 0
    unexpected: int = 0
    failed_batches: int = 0
    observed: Any = None
    error: str | None = None

    def add(self, r: Any) -> None:
        res = r.result or {}
        self.element += int(res.get("element_count") or 0)
        self.missing += int(res.get("missing_count") or 0)
        self.unexpected += int(res.get("unexpected_count") or 0)
        if res.get("observed_value") is not None:
            self.observed = res["observed_value"]
        if not r.success:
            self.failed_batches += 1
        exc = (r.exception_info or {}) if isinstance(r.exception_info, dict) else {}
        if exc.get("raised_exception"):
            self.error = str(exc.get("exception_message"))

    def success(self, batches: int) -> bool:
        if self.error:
            return False
        if batches <= 1 or self.check.table_level:
            return self.failed_batches == 0
        checked = self.element - self.missing
        mostly = float(self.check.kwargs.get("mostly", 1.0))
        return checked == 0 or (checked - self.unexpected) / checked >= mostly

    def describe(self) -> str:
        args = ", ".join(
            f"{k}={v}" for k, v in self.check.kwargs.items() if k in ("column", "column_A", "value")
        )
        if self.error:
            return f"{self.check.type}({args}): error: {self.error}"
        if self.observed is not None and not self.element:
            return f"{self.check.type}({args}): observed {self.observed}"
        return f"{self.check.type}({args}): {self.unexpected} of {self.element - self.missing} unexpected"


def unexpected_mask(c: Check, df: pd.DataFrame) -> pd.Series | None:
    """Rows of ``df`` a row-wise check finds unexpected, computed as GX does (nulls are skipped except by
    the not-null check); None for checks that cannot name rows."""
    col = c.column
    if not c.row_wise or col not in df.columns:
        return None
    s = df[col]
    present = s.notna()
    if c.type == "expect_column_values_to_not_be_null":
        return ~present
    if c.type == "expect_column_values_to_be_in_set":
        return present & ~s.isin(list(c.kwargs.get("value_set") or []))
    if c.type == "expect_column_values_to_not_be_in_set":
        return present & s.isin(list(c.kwargs.get("value_set") or []))
    if c.type == "expect_column_values_to_match_regex":
        return present & ~s.astype(str).str.contains(c.kwargs["regex"], regex=True)
    return None


@dataclass
class _RowFailures:
    """Per row-wise check: the (row hash, batch) of every unexpected row; per batch: rows validated."""

    by_check: dict[int, list[tuple[str, str | None, str | None]]] = field(default_factory=dict)
    batch_rows: dict[str | None, int] = field(default_factory=dict)
    required_filled: dict[str, dict[str | None, int]] = field(default_factory=dict)

    def add(
        self, spec: SuiteSpec, df: pd.DataFrame, required: list[str], fresh: set[str | None] | None = None
    ) -> None:
        """``fresh``: the batches read whole (None: all); per-batch counts (drift) keep to those, while rows read
        from other batches (rejected before, read again) are judged row by row only."""
        if "_row_hash" not in df.columns:
            return
        batch = df["_batch_id"] if "_batch_id" in df.columns else pd.Series([None] * len(df), index=df.index)
        whole = batch.isin([b for b in fresh if b is not None]) if fresh is not None else None
        for b, n in (batch[whole] if whole is not None else batch).value_counts(dropna=False).items():
            key = None if pd.isna(b) else str(b)
            self.batch_rows[key] = self.batch_rows.get(key, 0) + int(n)
        src = (
            df["_source_file"]
            if "_source_file" in df.columns
            else pd.Series([None] * len(df), index=df.index)
        )
        for i, c in enumerate(spec.checks):
            mask = unexpected_mask(c, df)
            if mask is None or not mask.any():
                continue
            rows = self.by_check.setdefault(i, [])
            rows += [
                (
                    None if pd.isna(h) else str(h),
                    None if pd.isna(b) else str(b),
                    None if pd.isna(f) else str(f),
                )
                for h, b, f in zip(df["_row_hash"][mask], batch[mask], src[mask], strict=True)
            ]
        for col in required:
            if col not in df.columns:
                continue
            filled = df[col].notna() & (df[col].astype(str).str.strip() != "")
            if whole is not None:
                filled &= whole
            counts = self.required_filled.setdefault(col, {})
            for b, n in batch[filled].value_counts(dropna=False).items():
                key = None if pd.isna(b) else str(b)
                counts[key] = counts.get(key, 0) + int(n)


def _required_columns(spec: SuiteSpec, present: list[str]) -> list[str]:
    """Contract fields that must be filled (not nullable, no value list with dirt): a batch where one is
    empty in every row while other batches fill it lost that column."""
    if spec.layer != "raw" or spec.query or not field_specs(spec.system, spec.table):
        return []  # file kinds defined by header variants only: companies send different columns
    try:
        table = load_contract().table(spec.system, spec.table)
    except KeyError:
        return []
    return [f.name for f in table.fields if not f.nullable and f.name in present]


def _resolve(
    reader: _Reader, spec: SuiteSpec, present: list[str], notes: list[str]
) -> tuple[SuiteSpec, list[str]]:
    """Referential checks are judged against the current delivery of the target (every landed row, read as
    staging reads it; rows a gate rejected included: a gate's verdict never becomes the next yardstick), in the
    read SQL: each becomes an in-set check on its reference flag column (:func:`_reference_flag`), so a
    reference of any size costs a join, not a value set in the expectation.
    Checks on columns the table does not have are dropped. Returns the suite and the referential failures that
    fail it outright: a reference that is missing or empty while this table has rows to check."""
    checks: list[Check] = []
    hard: list[str] = []
    for c in spec.checks:
        if c.read and c.read[1] not in present:
            notes.append(f"{c.name}: skipped, column {c.read[1]} not delivered")
            continue
        if c.value_set_from is None:
            checks.append(c)
            continue
        if c.read is None or c.type != "expect_column_values_to_be_in_set":
            raise ValueError(
                f"{c.name}: a referential check is an in-set check on a value read from a column"
            )
        schema, table, column = c.value_set_from
        src = c.read[1]
        cols = reader.columns(schema, table)
        expr = _read_expr(reader.templates, c.read[0], "r." + qident(column))
        has_values = (
            column in cols
            and reader._fetch(
                f"select count(*) from (select 1 from {qname(schema, table)} r where {expr} is not null limit 1) t",
                [],
            )[0][0]
            > 0
        )
        if not has_values:
            filled = _read_expr(reader.templates, "text", "r." + qident(src))
            has_rows = reader._fetch(
                f"select count(*) from {qname(spec.schema, spec.table)} r where {filled} is not null", []
            )[0][0]
            if has_rows:
                what = "is not landed" if column not in cols else "holds no value"
                hard.append(
                    f"{c.name}: reference {schema}.{table}.{column} {what}, so {has_rows} rows of "
                    f"{spec.relation} cannot be checked"
                )
            else:
                notes.append(f"{c.name}: nothing to check")
            continue
        flag = {**c.kwargs, "column": reference_flag_column(c), "value_set": [IN_REFERENCE]}
        checks.append(Check(c.type, flag, c.value_set_from, c.read, c.reason))
    resolved = SuiteSpec(
        spec.name, spec.layer, spec.schema, spec.table, tuple(checks), spec.query, spec.batch_rows
    )
    return resolved, hard


@dataclass
class _Verdict:
    stats: SuiteStats
    spec: SuiteSpec
    to_quarantine: dict[str, tuple[str | None, str | None, list[str]]] = field(default_factory=dict)
    hard: list[str] = field(default_factory=list)  # failures no quarantine can mend (a missing reference)
    judged: bool = False  # the raw gate judged the table: its rejects become this verdict's
    delta: _Delta | None = None  # raw gate: what was read (the rest was validated before)
    required: list[str] = field(default_factory=list)  # columns whose filled rows are counted per batch
    # per batch read whole: the required columns some row fills, and the batch's own schema drift
    filled: dict[str | None, set[str]] = field(default_factory=dict)
    batch_drift: dict[str | None, list[str]] = field(default_factory=dict)


def _validate(gx_run: _GxRun, reader: _Reader, spec: SuiteSpec, run_name: str) -> _Verdict:
    notes: list[str] = []
    if not spec.query:
        present = reader.columns(spec.schema, spec.table)
        if not present:
            if spec.layer == "raw":  # not landed yet: source freshness reports a system that never arrived
                st = SuiteStats(spec.name, spec.relation, True, 0, 0, notes=["not landed yet: skipped"])
                return _Verdict(st, spec)
            if spec.name not in HAND_WRITTEN:  # a manifest mart this build did not select
                st = SuiteStats(
                    spec.name, spec.relation, True, 0, 0, notes=["not built in this run: skipped"]
                )
                return _Verdict(st, spec)
            st = SuiteStats(
                spec.name,
                spec.relation,
                False,
                len(spec.checks),
                0,
                error=f"table {spec.relation} does not exist",
            )
            return _Verdict(st, spec)
        declared = spec
        spec, hard = _resolve(reader, spec, present, notes)
        delta = _plan(reader, declared, spec, present, hard) if spec.layer == "raw" else None
    else:
        present, hard, delta = [], [], None
    n = len(spec.checks)
    required = _required_columns(spec, present)
    meta = [c for c in META if c in present] if spec.layer == "raw" else []
    sql = _select(spec, present, reader.templates, extra=[*required, *meta])
    if delta is not None:
        sql += delta.where(spec.system, spec.table)
    tallies = [_Tally(c) for c in spec.checks]
    failures = _RowFailures()
    counted = [*required, *sorted({c.column for c in spec.checks if c.read and c.column})]
    fresh = delta.fresh if delta is not None and not delta.full else None
    rows = batches = 0
    if delta is None or delta.reads:
        from great_expectations.core.run_identifier import RunIdentifier  # noqa: PLC0415 - GX takes seconds to import; only a suite with rows to read needs it

        checkpoint, ids = _checkpoint(gx_run, spec)
        by_id = dict(zip(ids, tallies, strict=True))
        for df in reader.frames(sql, spec.batch_rows):
            batches += 1
            rows += len(df)
            run_id = RunIdentifier(run_name=f"{run_name}-b{batches}" if spec.batch_rows else run_name)
            result = checkpoint.run(batch_parameters={"dataframe": df}, run_id=run_id)
            gx_run.validated += result.run_results.keys()
            for vr in result.run_results.values():
                for r in vr.results:
                    by_id[r.expectation_config.id].add(r)
            if meta:
                failures.add(spec, df, counted, fresh)
    ok = [t.success(batches) for t in tallies]
    stats = SuiteStats(
        suite=spec.name,
        relation=spec.relation,
        success=all(ok) and not hard,
        evaluated=n + len(hard),
        successful=sum(ok),
        rows=rows,
        batches=batches,
        failed=hard + [t.describe() for t, good in zip(tallies, ok, strict=True) if not good],
        notes=notes,
        rows_in_table=sum(delta.batches.values()) if delta is not None else rows,
        scope=delta.scope if delta is not None else "",
    )
    verdict = _Verdict(stats, spec, hard=hard, delta=delta, required=counted)
    if spec.layer == "raw" and "_row_hash" in meta:
        _judge_rows(verdict, tallies, ok, failures)
    return verdict


def _judge_rows(v: _Verdict, tallies: list[_Tally], ok: list[bool], failures: _RowFailures) -> None:
    """Raw gate: every row a row-wise check finds unexpected goes to quarantine, alone, with the rule it breaks
    (whatever share of the table that is), and the rest passes. The suite fails on what no quarantine mends: a
    table-level check, a missing reference, or schema drift in a batch — a column the other batches fill empty
    in every row (dropped), or every filled value of a column unreadable (retyped).

    When the gate read only new batches (``v.delta``), the batches validated before count as they were recorded:
    their own drift stands, and a column dropped is judged against the columns every batch fills."""
    st, spec = v.stats, v.spec
    kept = v.delta.kept if v.delta is not None else {}
    where = f"system {spec.system}, table {spec.relation}"
    hard: list[str] = list(v.hard)
    drifted: set[str | None] = set()
    for i, (t, good) in enumerate(zip(tallies, ok, strict=True)):
        rows = failures.by_check.get(i, [])
        if good and not rows:
            continue
        if not t.check.row_wise or t.error or any(h is None for h, _, _ in rows):
            if not good:
                hard.append(t.describe())
            continue
        if (
            t.check.read
            and t.check.value_set_from is None
            and t.check.type != "expect_column_values_to_not_be_null"
        ):
            per_batch: dict[str | None, int] = {}
            for _, b, _ in rows:
                if b in failures.batch_rows:  # a batch read whole (not a row rejected before, read again)
                    per_batch[b] = per_batch.get(b, 0) + 1
            filled = failures.required_filled.get(t.check.column or "", {})
            for b, bad in sorted(per_batch.items(), key=lambda kv: str(kv[0])):
                if bad >= DRIFT_MIN_ROWS and bad >= filled.get(b, 0):
                    message = (
                        f"schema drift: {where}, column {t.check.read[1]}: all {bad} filled values of "
                        f"batch {b} fail '{t.check.reason}' (retyped at the source?)"
                    )
                    st.drift.append(message)
                    v.batch_drift.setdefault(b, []).append(message)
                    drifted.add(b)
        for h, b, f in rows:
            entry = v.to_quarantine.setdefault(h, (b, f, []))
            entry[2].append(t.check.reason or t.check.name)
    for b, record in sorted(kept.items()):
        st.drift += record.drift
        if record.drift:
            drifted.add(b)
    v.filled = {
        b: {c for c in v.required if not c.startswith("_") and failures.required_filled.get(c, {}).get(b)}
        for b in failures.batch_rows
    }
    batch_rows: dict[str | None, int] = {**{b: r.rows for b, r in kept.items()}, **failures.batch_rows}
    for col in v.required:
        filled_in = {b for b, cols in v.filled.items() if col in cols} | {
            b for b, r in kept.items() if col in r.filled
        }
        if col.startswith("_") or not filled_in:
            continue  # a read value, or never filled anywhere: nothing to compare with
        for b, total in batch_rows.items():
            if total >= DRIFT_MIN_ROWS and b not in filled_in:
                st.drift.append(
                    f"schema drift: {where}, column {col}: empty in all {total} rows of batch {b} "
                    "(column dropped at the source?)"
                )
                drifted.add(b)
    # a drifted batch: all its rows go to quarantine too (read by batch in _quarantine)
    for b in drifted:
        if b is not None:
            v.to_quarantine[f"batch:{b}"] = (b, None, ["schema drift"])
    v.judged = True
    st.quarantined = len(v.to_quarantine)
    st.success = not hard and not st.drift
    st.successful = st.evaluated - len(hard) - (1 if st.drift else 0)
    st.failed = hard + [
        f"{t.describe()} -> rows quarantined"
        for i, (t, good) in enumerate(zip(tallies, ok, strict=True))
        if failures.by_check.get(i) and t.describe() not in hard
    ]


def _docs_path(context: Any) -> str | None:
    sites = context.get_docs_sites_urls()
    if not sites or not sites[0].get("site_url"):
        return None
    return str(sites[0]["site_url"]).removeprefix("file://")


# --- writing: quarantine, raw_rejects, gate_log --------------------------------------------------------

OPS_GATE_DDL = [
    *OPS_DDL,  # ops.raw_rejects lives with the loader's tables: staging anti-joins it
    """create table if not exists ops.gate_log (
        checked_at timestamp not null, run_name varchar not null, gate varchar not null, suite varchar not null,
        relation varchar not null, success boolean not null, evaluated integer not null, successful integer not null,
        rows_checked bigint not null, rows_quarantined bigint not null, details varchar, docs_path varchar)""",
    RAW_GATE_BATCHES_DDL,
]


def quarantine_id(system: str, table: str, row_hash: str, rule: str) -> str:
    """The same row failing the same rule is the same quarantine entry, however often the gate runs."""

    return hashlib.sha256(f"gate|{system}|{table}|{row_hash}|{rule}".encode()).hexdigest()[:32]


def _quarantine(tx: Any, v: _Verdict, now: dt.datetime) -> int:
    """Make ops.raw_rejects for this table exactly the rows a gate over every landed row would reject now, and
    log each in ops.quarantine.

    A row is rejected for what it is, never because of what an earlier run rejected: the rows this run read are
    judged afresh, and a row rejected before keeps its verdict only when nothing it depends on changed (it was
    not read again: its batch was validated before and no table it references received new batches). Each
    (row, rule) has one ops.quarantine entry (a fixed id; row data pseudonymised as the loader does), opened the
    first time and marked ``released`` when a later run no longer rejects the row (say, its reference arrived);
    a reject that stands keeps its ops.raw_rejects row (``rejected_at``: when it was first rejected so). Returns
    the rows the table has rejected."""

    spec = v.spec
    raw = qname(spec.schema, spec.table)
    cols = tx.columns(spec.schema, spec.table)
    where = [spec.system, spec.table]
    previous: dict[str, tuple[str, str | None]] = {
        h: (q, b)
        for h, q, b in tx.query(
            "select _row_hash, quarantine_id, batch_id from ops.raw_rejects "
            "where system = ? and table_name = ? and rule like 'gx:%'",
            where,
        )
    }
    d = v.delta
    # rows rejected before and not read again: their verdict stands (see _plan)
    kept = {} if d is None or d.full or d.recheck else previous
    by_hash: dict[str, tuple[str | None, str | None, list[str]]] = {}
    for h, entry in v.to_quarantine.items():
        if h.startswith("batch:"):  # every row of a drifted batch
            b = entry[0]
            for rh, sf in tx.query(
                f"select r._row_hash, {'r._source_file' if '_source_file' in cols else 'null'} from {raw} r "
                "where r._batch_id = ?",
                [b],
            ):
                if rh not in kept:
                    by_hash.setdefault(rh, (b, sf, ["schema drift"]))
        elif h not in kept:
            by_hash.setdefault(h, entry)
    judged: dict[
        str, tuple[str, str | None, str | None, str, list[str]]
    ] = {}  # hash -> qid, batch, file, ...
    for h, (batch, source_file, rules) in by_hash.items():
        rules = list(dict.fromkeys(rules))
        rule = f"gx:{rules[0]}"
        judged[h] = (quarantine_id(spec.system, spec.table, h, rule), batch, source_file, rule, rules)
    logged = (
        dict(
            tx.query(
                "select quarantine_id, status from ops.quarantine where system = ? and table_name = ? "
                "and rule like 'gx:%'",
                where,
            )
        )
        if judged
        else {}
    )
    # the row data of new quarantine entries (the same row landed twice, by a re-sent file: one entry)
    new_entries = sorted(h for h, j in judged.items() if logged.get(j[0]) is None)
    fields_of: dict[str, dict[str, Any]] = {}
    for i in range(0, len(new_entries), 500):
        part = new_entries[i : i + 500]
        for row in tx.query(f"select * from {raw} where _row_hash in ({', '.join('?' for _ in part)})", part):
            d_row = dict(zip(cols, row, strict=True))
            fields_of.setdefault(
                d_row["_row_hash"],
                {k: val for k, val in d_row.items() if not k.startswith("_") and val is not None},
            )
    key = hmac_key() if new_entries else b""
    gone = [h for h in previous if h not in kept and (h not in judged or previous[h] != judged[h][0:2])]
    for i in range(0, len(gone), 500):
        part = gone[i : i + 500]
        tx.execute(
            "delete from ops.raw_rejects where system = ? and table_name = ? and rule like 'gx:%' "
            f"and _row_hash in ({', '.join('?' for _ in part)})",
            [*where, *part],
        )
    for h, (qid, batch, source_file, rule, rules) in judged.items():
        status = logged.get(qid)
        # rejected again after a run had released it: its entry opens again
        quarantine_row(
            tx,
            qid,
            system=spec.system,
            table_name=spec.table,
            batch_id=batch or "",
            source_file=source_file,
            rule=rule,
            reason=f"raw gate ({spec.name}): " + "; ".join(rules),
            row_data=quarantine_data(fields_of.get(h, {}), key) if status is None else "",  # new entries only
            at=now,
            reopen="released",
            status=status,
        )
        if previous.get(h) != (qid, batch):
            tx.execute(
                "insert into ops.raw_rejects values (?, ?, ?, ?, ?, ?, ?)", [*where, h, rule, batch, qid, now]
            )
    current = {q for q, _ in kept.values()} | {j[0] for j in judged.values()}
    for qid in sorted({q for q, _ in previous.values()} - current):
        tx.execute(
            "update ops.quarantine set status = 'released' where quarantine_id = ? and status = 'open'", [qid]
        )
    return len(kept) + len(judged)


def _record_batches(tx: Any, v: _Verdict, now: dt.datetime) -> None:
    """ops.raw_gate_batches for one raw table: the batches this run validated whole are added (every batch, the
    records before replaced, when it read every row). A table the gate could not judge whole (an error, a
    missing reference) loses its records: the next run reads every row of it."""
    spec, d = v.spec, v.delta
    where = [spec.system, spec.table]
    if d is None or not v.judged or v.hard or v.stats.error:
        tx.execute("delete from ops.raw_gate_batches where system = ? and table_name = ?", where)
        return
    if d.full:
        tx.execute("delete from ops.raw_gate_batches where system = ? and table_name = ?", where)
    for b in sorted((b for b in d.fresh if b is not None), key=str):
        tx.execute(
            "insert into ops.raw_gate_batches values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                *where,
                b,
                d.batches[b],
                json.dumps(sorted(v.filled.get(b, ())), ensure_ascii=False),
                json.dumps(v.batch_drift.get(b, []), ensure_ascii=False),
                d.fingerprint,
                now,
            ],
        )


def _record(settings: Settings, result: GateResult, verdicts: list[_Verdict], run_name: str) -> None:
    """Quarantine and the batches validated (raw gate) and one ops.gate_log row per suite, in one transaction:
    a gate killed before it commits leaves nothing recorded."""

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with open_warehouse(settings.warehouse_url) as wh, wh.transaction() as tx:
        ensure_ops(tx)
        for stmt in OPS_GATE_DDL:
            tx.execute(stmt)
        for v in verdicts:
            if v.judged:
                v.stats.quarantined = _quarantine(tx, v, now)
            if v.spec.layer == "raw" and not v.spec.query:
                _record_batches(tx, v, now)
        for s in result.suites:
            details = json.dumps(
                {"failed": s.failed, "drift": s.drift, "error": s.error, "notes": s.notes}, ensure_ascii=False
            )
            tx.execute(
                "insert into ops.gate_log values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    now,
                    run_name,
                    result.gate,
                    s.suite,
                    s.relation,
                    s.success,
                    s.evaluated,
                    s.successful,
                    s.rows,
                    s.quarantined,
                    details,
                    result.docs_path,
                ],
            )


def _manifest(project_dir: Path | None = None) -> dict[str, Any] | None:

    path = manifest_path(project_dir) if project_dir else manifest_path()
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None
    except (OSError, ValueError):
        return None


def run_gate(
    layer: Layer,
    settings: Settings | None = None,
    *,
    specs: list[SuiteSpec] | None = None,
    raise_on_failure: bool = True,
    schema_suffix: str = "",
    record: bool = True,
    project_dir: Path | None = None,
    full: bool | None = None,
) -> GateResult:
    """Validate every suite of ``layer`` (or ``specs``); raise :class:`GateFailed` if one fails.

    Raw gate: rows failing a row-wise check that failed are quarantined (ops.quarantine, ops.raw_rejects) and
    the suite passes; only table-level failures and schema drift fail it. It reads only the batches it has not
    validated before (ops.raw_gate_batches) and the rows it rejected when a table they reference received new
    batches, with the same outcome as reading every row; ``full`` (default ``Settings.raw_gate_full``,
    YIWANG_RAW_GATE_FULL) reads every row. Mart gate: ``schema_suffix`` reads
    the marts dbt built into ``mart_<x><suffix>`` (see yiwang.publish). ``record`` writes ops.gate_log (and
    the quarantine); without it the warehouse is only read.
    """
    settings = settings or get_settings()
    if specs is None:
        specs = suites(layer, _manifest(project_dir) if layer == "mart" else None)
    specs = [s.in_schema_suffix(schema_suffix) if s.layer == "mart" else s for s in specs]
    gx_run = _GxRun(settings)
    run_name = f"{layer}_gate-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    verdicts: list[_Verdict] = []
    # staging's value readers, compiled by dbt before the warehouse is opened (dbt must not hold it then)
    templates = reader_templates(settings) if any(s.layer == "raw" for s in specs) else {}
    try:
        with _Reader(settings).open() as reader:
            reader.templates = templates
            reader.full = settings.raw_gate_full if full is None else full
            for spec in specs:
                try:
                    verdicts.append(_validate(gx_run, reader, spec, run_name))
                except Exception as e:  # a broken query must fail the gate, not hide the other suites
                    st = SuiteStats(spec.name, spec.relation, False, len(spec.checks), 0, error=repr(e))
                    verdicts.append(_Verdict(st, spec))
    except FileNotFoundError as e:
        verdicts = [
            _Verdict(SuiteStats(s.name, s.relation, False, len(s.checks), 0, error=str(e)), s) for s in specs
        ]
        record = False
    docs_path = gx_run.build_docs()
    stats = [v.stats for v in verdicts]
    result = GateResult(layer, all(s.success for s in stats), stats, docs_path)
    if record:
        _record(settings, result, verdicts if layer == "raw" else [], run_name)
    if raise_on_failure and not result.success:
        raise GateFailed(result)
    return result


def run_raw_gate(
    settings: Settings | None = None,
    *,
    raise_on_failure: bool = True,
    record: bool = True,
    full: bool | None = None,
) -> GateResult:
    """Gate the raw tables before dbt runs (``expectations.suites.RAW_SUITES``), quarantining failing rows.
    Reads the batches not validated before; ``full=True`` (or YIWANG_RAW_GATE_FULL=1) re-validates every row."""
    return run_gate("raw", settings, raise_on_failure=raise_on_failure, record=record, full=full)


def run_mart_gate(
    settings: Settings | None = None,
    *,
    raise_on_failure: bool = True,
    schema_suffix: str = "",
    record: bool = True,
    project_dir: Path | None = None,
) -> GateResult:
    """Gate the marts before they are published (``expectations.suites.MART_SUITES`` + one key suite per
    mart model of the dbt manifest of ``project_dir``, default the project's); ``schema_suffix="__build"``
    gates the build schemas."""
    return run_gate(
        "mart",
        settings,
        raise_on_failure=raise_on_failure,
        schema_suffix=schema_suffix,
        record=record,
        project_dir=project_dir,
    )


def docs_index(settings: Settings | None = None) -> Path:
    """Where the Data Docs index is (it exists once a gate has run)."""
    settings = settings or get_settings()
    return settings.gx_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
