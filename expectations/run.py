"""Run the GX gates: the raw gate (before dbt) and the mart gate (before publish).

Every suite is validated as pandas dataframes, on DuckDB and PostgreSQL alike: GX 1.24 cannot validate
DuckDB through its SQL data source, and one code path for both warehouses keeps the gates identical. Data
is read over a read-only connection, only the columns the checks use, in batches of ``SuiteSpec.batch_rows``
rows; the results of row-wise checks are summed across batches (``mostly`` is applied to the totals).

The GX file context lives in ``Settings.gx_dir`` (generated at run time, never committed); each suite has
its own checkpoint (dataframe batch parameters go to every validation definition of a checkpoint) with an
``UpdateDataDocsAction``. Results keep counts only (``partial_unexpected_count=0``): raw values such as ID
numbers never reach the Data Docs.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from connectors.landing import OPS_DDL
from expectations.suites import MART_SUITES, Check, Layer, SuiteSpec, field_specs, suites
from yiwang.contracts import load_contract
from yiwang.settings import Settings, get_settings
from yiwang.warehouse import qident, qname

# Schema drift: in one load batch of at least DRIFT_MIN_ROWS rows, DRIFT_SHARE or more of the rows fail the
# same format check (a retyped column), or a contract field that other batches fill is null in every row (a
# dropped column). That is not dirt: the gate fails, naming system, table and column.
DRIFT_MIN_ROWS = 5
DRIFT_SHARE = 0.5
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
        return {"gate": self.gate, "success": self.success, "docs_path": self.docs_path,
                "suites": [asdict(s) for s in self.suites]}

    def summary(self) -> str:
        lines = [f"{self.gate} gate: {'passed' if self.success else 'FAILED'} (docs: {self.docs_path})"]
        for s in self.suites:
            mark = "ok " if s.success else "BAD"
            q = f", {s.quarantined} rows quarantined" if s.quarantined else ""
            lines.append(f"  {mark} {s.suite}: {s.successful}/{s.evaluated} expectations, {s.rows} rows{q}")
            lines += [f"      {f}" for f in ([s.error] if s.error else []) + s.drift + s.failed]
        return "\n".join(lines)


class GateFailed(RuntimeError):
    """A gate failed; ``result`` holds the per-suite statistics and the Data Docs path."""

    def __init__(self, result: GateResult) -> None:
        self.result = result
        super().__init__(result.summary())


# --- reading the warehouse --------------------------------------------------------------------------


class _Reader:
    """A read-only warehouse connection that yields query results as dataframes in batches."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.duck = settings.is_duckdb
        self._con: Any = None
        self.has_rejects = False

    @contextmanager
    def open(self) -> Iterator[_Reader]:
        if self.duck:
            import duckdb

            from yiwang.dbt_runner import release_duckdb

            release_duckdb()  # an in-process dbt run (dags test, CLI build) may still hold the file
            path = self.settings.duckdb_path
            if not path.exists():
                raise FileNotFoundError(f"warehouse {path} does not exist: run the extract DAGs first")
            self._con = duckdb.connect(str(path), read_only=True)
        else:
            import psycopg
            from sqlalchemy.engine import make_url

            url = make_url(self.settings.warehouse_url).set(drivername="postgresql")
            self._con = psycopg.connect(url.render_as_string(hide_password=False))
            self._con.read_only = True
        self.has_rejects = bool(self.columns("ops", "raw_rejects"))
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

    def frames(self, sql: str, batch_rows: int | None) -> Iterator[pd.DataFrame]:
        if self.duck:
            reader = self._con.sql(sql).to_arrow_reader(batch_rows or 1_000_000)
            if batch_rows is None:
                yield reader.read_all().to_pandas()
                return
            n = 0
            for rb in reader:
                n += 1
                yield rb.to_pandas()
            if n == 0:
                yield reader.schema.empty_table().to_pandas()
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


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _not_rejected(spec: SuiteSpec, alias: str = "r") -> str:
    """SQL condition: the row was not rejected by an earlier raw gate (ops.raw_rejects)."""
    return (f"not exists (select 1 from ops.raw_rejects x where x.system = {_sql_literal(spec.system)} "
            f"and x.table_name = {_sql_literal(spec.table)} and x._row_hash = {alias}._row_hash)")


def _select(spec: SuiteSpec, present: list[str], *, extra: list[str] = (), rejects: bool = False) -> str:  # type: ignore[assignment]
    if spec.query:
        return spec.query
    wanted = [c for c in dict.fromkeys([*spec.columns(), *extra]) if c in present] or present[:1]
    sql = f"select {', '.join('r.' + qident(c) for c in wanted)} from {qname(spec.schema, spec.table)} r"
    if rejects and "_row_hash" in present:
        sql += f" where {_not_rejected(spec)}"
    return sql


# --- GX ----------------------------------------------------------------------------------------------


def _gx_context(settings: Settings) -> Any:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    settings.gx_dir.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(settings.gx_dir))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _expectation(c: Check) -> Any:
    import great_expectations as gx

    cls_name = "".join(p.capitalize() for p in c.type.split("_"))
    return getattr(gx.expectations, cls_name)(**c.kwargs)


def _checkpoint(context: Any, spec: SuiteSpec) -> tuple[Any, list[str]]:
    import great_expectations as gx

    source = context.data_sources.add_or_update_pandas(DATA_SOURCE)
    try:
        asset = source.get_asset(spec.name)
    except LookupError:
        asset = source.add_dataframe_asset(spec.name)
    try:
        batch_def = asset.get_batch_definition("whole_frame")
    except KeyError:
        batch_def = asset.add_batch_definition_whole_dataframe("whole_frame")
    suite = context.suites.add_or_update(
        gx.ExpectationSuite(name=spec.name, expectations=[_expectation(c) for c in spec.checks])
    )
    vd = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=spec.name, data=batch_def, suite=suite)
    )
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=f"{spec.layer}_gate__{spec.name}",
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
        args = ", ".join(f"{k}={v}" for k, v in self.check.kwargs.items() if k in ("column", "column_A", "value"))
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
    if c.type == "expect_column_values_to_match_regex":
        return present & ~s.astype(str).str.contains(c.kwargs["regex"], regex=True)
    return None


@dataclass
class _RowFailures:
    """Per row-wise check: the (row hash, batch) of every unexpected row; per batch: rows validated."""

    by_check: dict[int, list[tuple[str, str | None, str | None]]] = field(default_factory=dict)
    batch_rows: dict[str | None, int] = field(default_factory=dict)
    required_filled: dict[str, dict[str | None, int]] = field(default_factory=dict)

    def add(self, spec: SuiteSpec, df: pd.DataFrame, required: list[str]) -> None:
        if "_row_hash" not in df.columns:
            return
        batch = df["_batch_id"] if "_batch_id" in df.columns else pd.Series([None] * len(df), index=df.index)
        for b, n in batch.value_counts(dropna=False).items():
            key = None if pd.isna(b) else str(b)
            self.batch_rows[key] = self.batch_rows.get(key, 0) + int(n)
        src = df["_source_file"] if "_source_file" in df.columns else pd.Series([None] * len(df), index=df.index)
        for i, c in enumerate(spec.checks):
            mask = unexpected_mask(c, df)
            if mask is None or not mask.any():
                continue
            rows = self.by_check.setdefault(i, [])
            rows += [(None if pd.isna(h) else str(h), None if pd.isna(b) else str(b), None if pd.isna(f) else str(f))
                     for h, b, f in zip(df["_row_hash"][mask], batch[mask], src[mask], strict=True)]
        for col in required:
            if col not in df.columns:
                continue
            filled = df[col].notna() & (df[col].astype(str).str.strip() != "")
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


def _resolve(reader: _Reader, spec: SuiteSpec, present: list[str], notes: list[str]) -> SuiteSpec:
    """Referential checks get their value set from the warehouse; checks on absent columns/targets dropped."""
    checks: list[Check] = []
    for c in spec.checks:
        if c.value_set_from is None:
            checks.append(c)
            continue
        schema, table, column = c.value_set_from
        cols = reader.columns(schema, table)
        if column not in cols:
            notes.append(f"{c.name}: skipped, {schema}.{table} is not landed")
            continue
        target = SuiteSpec("ref", "raw", schema, table, ())
        where = f" where {_not_rejected(target)}" if "_row_hash" in cols and reader.has_rejects else ""
        values = sorted({str(r[0]) for r in reader._fetch(
            f"select distinct r.{qident(column)} from {qname(schema, table)} r{where}", []) if r[0] is not None})
        if not values:
            notes.append(f"{c.name}: skipped, {schema}.{table} is empty")
            continue
        checks.append(Check(c.type, {**c.kwargs, "value_set": values}, c.value_set_from))
    return SuiteSpec(spec.name, spec.layer, spec.schema, spec.table, tuple(checks), spec.query, spec.batch_rows)


@dataclass
class _Verdict:
    stats: SuiteStats
    spec: SuiteSpec
    to_quarantine: dict[str, tuple[str | None, str | None, list[str]]] = field(default_factory=dict)


def _validate(context: Any, reader: _Reader, spec: SuiteSpec, run_name: str) -> _Verdict:
    from great_expectations.core.run_identifier import RunIdentifier

    notes: list[str] = []
    if not spec.query:
        present = reader.columns(spec.schema, spec.table)
        if not present:
            if spec.layer == "raw":  # not landed yet: source freshness reports a system that never arrived
                st = SuiteStats(spec.name, spec.relation, True, 0, 0, notes=["not landed yet: skipped"])
                return _Verdict(st, spec)
            if spec.name not in HAND_WRITTEN:  # a manifest mart this build did not select
                st = SuiteStats(spec.name, spec.relation, True, 0, 0, notes=["not built in this run: skipped"])
                return _Verdict(st, spec)
            st = SuiteStats(spec.name, spec.relation, False, len(spec.checks), 0,
                            error=f"table {spec.relation} does not exist")
            return _Verdict(st, spec)
        spec = _resolve(reader, spec, present, notes)
    else:
        present = []
    n = len(spec.checks)
    required = _required_columns(spec, present)
    meta = [c for c in META if c in present] if spec.layer == "raw" else []
    sql = _select(spec, present, extra=[*required, *meta], rejects=spec.layer == "raw" and reader.has_rejects)
    checkpoint, ids = _checkpoint(context, spec)
    tallies = [_Tally(c) for c in spec.checks]
    by_id = dict(zip(ids, tallies, strict=True))
    failures = _RowFailures()
    rows = batches = 0
    for df in reader.frames(sql, spec.batch_rows):
        batches += 1
        rows += len(df)
        run_id = RunIdentifier(run_name=f"{run_name}-b{batches}" if spec.batch_rows else run_name)
        result = checkpoint.run(batch_parameters={"dataframe": df}, run_id=run_id)
        for vr in result.run_results.values():
            for r in vr.results:
                by_id[r.expectation_config.id].add(r)
        if meta:
            failures.add(spec, df, required)
    ok = [t.success(batches) for t in tallies]
    stats = SuiteStats(
        suite=spec.name, relation=spec.relation, success=all(ok), evaluated=n, successful=sum(ok), rows=rows,
        batches=batches, failed=[t.describe() for t, good in zip(tallies, ok, strict=True) if not good],
        notes=notes,
    )
    verdict = _Verdict(stats, spec)
    if spec.layer == "raw" and "_row_hash" in meta:
        _judge_rows(verdict, tallies, ok, failures)
    return verdict


def _judge_rows(v: _Verdict, tallies: list[_Tally], ok: list[bool], failures: _RowFailures) -> None:
    """Raw gate: failing rows of a failing row-wise check go to quarantine and the rest passes; a failing
    table-level check, or schema drift in a batch, fails the suite."""
    st, spec = v.stats, v.spec
    where = f"system {spec.system}, table {spec.relation}"
    hard: list[str] = []
    drifted: set[str | None] = set()
    for i, (t, good) in enumerate(zip(tallies, ok, strict=True)):
        if good:
            continue
        rows = failures.by_check.get(i, [])
        if not t.check.row_wise or t.error or not rows or any(h is None for h, _, _ in rows):
            hard.append(t.describe())
            continue
        per_batch: dict[str | None, int] = {}
        for _, b, _ in rows:
            per_batch[b] = per_batch.get(b, 0) + 1
        for b, bad in sorted(per_batch.items(), key=lambda kv: str(kv[0])):
            total = failures.batch_rows.get(b, 0)
            if t.check.type != "expect_column_values_to_not_be_null" and total >= DRIFT_MIN_ROWS \
                    and bad / total >= DRIFT_SHARE:
                st.drift.append(f"schema drift: {where}, column {t.check.column}: {bad} of {total} rows of batch "
                                f"{b} fail {t.check.name} (retyped?)")
                drifted.add(b)
        for h, b, f in rows:
            entry = v.to_quarantine.setdefault(h, (b, f, []))
            entry[2].append(t.check.name)
    for col, filled in failures.required_filled.items():
        if not any(filled.values()):
            continue  # never filled anywhere: nothing to compare with
        for b, total in failures.batch_rows.items():
            if total >= DRIFT_MIN_ROWS and not filled.get(b):
                st.drift.append(f"schema drift: {where}, column {col}: empty in all {total} rows of batch {b} "
                                "(column dropped at the source?)")
                drifted.add(b)
    # a drifted batch: all its rows go to quarantine too (read by batch in _quarantine), so that once staging
    # skips rejected rows the next build reads the earlier, good versions
    for b in drifted:
        if b is not None:
            v.to_quarantine[f"batch:{b}"] = (b, None, ["schema_drift"])
    st.quarantined = len(v.to_quarantine)
    st.success = not hard and not st.drift
    st.successful = st.evaluated - len(hard) - (1 if st.drift else 0)
    st.failed = hard + [f"{t.describe()} -> rows quarantined" for t, good in zip(tallies, ok, strict=True)
                        if not good and t.describe() not in hard]


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
]


def _quarantine(tx: Any, v: _Verdict, now: dt.datetime) -> int:
    """Copy the failing raw rows (pseudonymised, as the loader does) to ops.quarantine and ops.raw_rejects."""
    import json
    import uuid

    from yiwang.privacy import pseudonymise_row
    from yiwang.settings import hmac_key

    spec = v.spec
    raw = qname(spec.schema, spec.table)
    key = hmac_key()
    cols = tx.columns(spec.schema, spec.table)
    by_hash: dict[str, tuple[str | None, str | None, list[str]]] = {}
    for h, entry in v.to_quarantine.items():
        if h.startswith("batch:"):  # every row of a drifted batch
            b = entry[0]
            for row in tx.query(f"select * from {raw} r where r._batch_id = ? and {_not_rejected(spec)}", [b]):
                d = dict(zip(cols, row, strict=True))
                by_hash.setdefault(d["_row_hash"], (b, d.get("_source_file"), ["schema_drift"]))
        else:
            by_hash.setdefault(h, entry)
    hashes = list(by_hash)
    n = 0
    for i in range(0, len(hashes), 500):
        part = hashes[i:i + 500]
        rows = tx.query(f"select * from {raw} where _row_hash in ({', '.join('?' for _ in part)})", part)
        for row in rows:
            d = dict(zip(cols, row, strict=True))
            h = d["_row_hash"]
            batch, source_file, rules = by_hash[h]
            data = {k: val for k, val in d.items() if not k.startswith("_") and val is not None}
            qid = uuid.uuid4().hex
            rule = f"gx:{rules[0]}"
            reason = f"raw gate ({spec.name}): fails " + "; ".join(dict.fromkeys(rules))
            tx.execute("insert into ops.quarantine values (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open')",
                       [qid, spec.system, spec.table, batch or "", source_file, rule, reason,
                        json.dumps(pseudonymise_row(data, key), ensure_ascii=False, default=str), now])
            tx.execute("insert into ops.raw_rejects values (?, ?, ?, ?, ?, ?, ?)",
                       [spec.system, spec.table, h, rule, batch, qid, now])
            n += 1
    return n


def _record(settings: Settings, result: GateResult, verdicts: list[_Verdict], run_name: str) -> None:
    """Quarantine (raw gate) and one ops.gate_log row per suite, in one transaction."""
    import json

    from connectors.landing import ensure_ops
    from yiwang.warehouse import open_warehouse

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with open_warehouse(settings.warehouse_url) as wh, wh.transaction() as tx:
        ensure_ops(tx)
        for stmt in OPS_GATE_DDL:
            tx.execute(stmt)
        for v in verdicts:
            if v.to_quarantine:
                v.stats.quarantined = _quarantine(tx, v, now)
        for s in result.suites:
            details = json.dumps({"failed": s.failed, "drift": s.drift, "error": s.error, "notes": s.notes},
                                 ensure_ascii=False)
            tx.execute("insert into ops.gate_log values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       [now, run_name, result.gate, s.suite, s.relation, s.success, s.evaluated, s.successful,
                        s.rows, s.quarantined, details, result.docs_path])


def _manifest(project_dir: Path | None = None) -> dict[str, Any] | None:
    import json

    from yiwang.dbt_runner import manifest_path

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
) -> GateResult:
    """Validate every suite of ``layer`` (or ``specs``); raise :class:`GateFailed` if one fails.

    Raw gate: rows failing a row-wise check that failed are quarantined (ops.quarantine, ops.raw_rejects) and
    the suite passes; only table-level failures and schema drift fail it. Mart gate: ``schema_suffix`` reads
    the marts dbt built into ``mart_<x><suffix>`` (see yiwang.publish). ``record`` writes ops.gate_log (and
    the quarantine); without it the warehouse is only read.
    """
    settings = settings or get_settings()
    if specs is None:
        specs = suites(layer, _manifest(project_dir) if layer == "mart" else None)
    specs = [s.in_schema_suffix(schema_suffix) if s.layer == "mart" else s for s in specs]
    context = _gx_context(settings)
    run_name = f"{layer}_gate-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    verdicts: list[_Verdict] = []
    try:
        with _Reader(settings).open() as reader:
            for spec in specs:
                try:
                    verdicts.append(_validate(context, reader, spec, run_name))
                except Exception as e:  # a broken query must fail the gate, not hide the other suites
                    st = SuiteStats(spec.name, spec.relation, False, len(spec.checks), 0, error=repr(e))
                    verdicts.append(_Verdict(st, spec))
    except FileNotFoundError as e:
        verdicts = [_Verdict(SuiteStats(s.name, s.relation, False, len(s.checks), 0, error=str(e)), s)
                    for s in specs]
        record = False
    context.build_data_docs()
    stats = [v.stats for v in verdicts]
    result = GateResult(layer, all(s.success for s in stats), stats, _docs_path(context))
    if record:
        _record(settings, result, verdicts if layer == "raw" else [], run_name)
    if raise_on_failure and not result.success:
        raise GateFailed(result)
    return result


def run_raw_gate(settings: Settings | None = None, *, raise_on_failure: bool = True,
                 record: bool = True) -> GateResult:
    """Gate the raw tables before dbt runs (``expectations.suites.RAW_SUITES``), quarantining failing rows."""
    return run_gate("raw", settings, raise_on_failure=raise_on_failure, record=record)


def run_mart_gate(settings: Settings | None = None, *, raise_on_failure: bool = True,
                  schema_suffix: str = "", record: bool = True, project_dir: Path | None = None) -> GateResult:
    """Gate the marts before they are published (``expectations.suites.MART_SUITES`` + one key suite per
    mart model of the dbt manifest of ``project_dir``, default the project's); ``schema_suffix="__build"``
    gates the build schemas."""
    return run_gate("mart", settings, raise_on_failure=raise_on_failure, schema_suffix=schema_suffix,
                    record=record, project_dir=project_dir)


def docs_index(settings: Settings | None = None) -> Path:
    """Where the Data Docs index is (it exists once a gate has run)."""
    settings = settings or get_settings()
    return settings.gx_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
