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

from expectations.suites import Check, Layer, SuiteSpec, suites
from yiwang.settings import Settings, get_settings
from yiwang.warehouse import qident, qname

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


@dataclass
class GateResult:
    gate: Layer
    success: bool
    suites: list[SuiteStats]
    docs_path: str | None

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
            lines.append(f"  {mark} {s.suite}: {s.successful}/{s.evaluated} expectations, {s.rows} rows")
            lines += [f"      {f}" for f in ([s.error] if s.error else []) + s.failed]
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


def _select(spec: SuiteSpec, present: list[str]) -> str:
    if spec.query:
        return spec.query
    wanted = [c for c in spec.columns() if c in present] or present[:1]
    return f"select {', '.join(qident(c) for c in wanted)} from {qname(spec.schema, spec.table)}"


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
            actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs")],
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


def _validate(context: Any, reader: _Reader, spec: SuiteSpec, run_name: str) -> SuiteStats:
    from great_expectations.core.run_identifier import RunIdentifier

    n = len(spec.checks)
    if not spec.query:
        present = reader.columns(spec.schema, spec.table)
        if not present:
            return SuiteStats(spec.name, spec.relation, False, n, 0, error=f"table {spec.relation} does not exist")
    else:
        present = []
    checkpoint, ids = _checkpoint(context, spec)
    tallies = [_Tally(c) for c in spec.checks]
    by_id = dict(zip(ids, tallies, strict=True))
    rows = batches = 0
    for df in reader.frames(_select(spec, present), spec.batch_rows):
        batches += 1
        rows += len(df)
        run_id = RunIdentifier(run_name=f"{run_name}-b{batches}" if spec.batch_rows else run_name)
        result = checkpoint.run(batch_parameters={"dataframe": df}, run_id=run_id)
        for vr in result.run_results.values():
            for r in vr.results:
                by_id[r.expectation_config.id].add(r)
    ok = [t.success(batches) for t in tallies]
    return SuiteStats(
        suite=spec.name,
        relation=spec.relation,
        success=all(ok),
        evaluated=n,
        successful=sum(ok),
        rows=rows,
        batches=batches,
        failed=[t.describe() for t, good in zip(tallies, ok, strict=True) if not good],
    )


def _docs_path(context: Any) -> str | None:
    sites = context.get_docs_sites_urls()
    if not sites or not sites[0].get("site_url"):
        return None
    return str(sites[0]["site_url"]).removeprefix("file://")


def run_gate(
    layer: Layer,
    settings: Settings | None = None,
    *,
    specs: list[SuiteSpec] | None = None,
    raise_on_failure: bool = True,
) -> GateResult:
    """Validate every suite of ``layer`` (or ``specs``); raise :class:`GateFailed` if one fails."""
    settings = settings or get_settings()
    specs = suites(layer) if specs is None else specs
    context = _gx_context(settings)
    run_name = f"{layer}_gate-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}"
    stats: list[SuiteStats] = []
    try:
        with _Reader(settings).open() as reader:
            for spec in specs:
                try:
                    stats.append(_validate(context, reader, spec, run_name))
                except Exception as e:  # a broken query must fail the gate, not hide the other suites
                    stats.append(SuiteStats(spec.name, spec.relation, False, len(spec.checks), 0, error=repr(e)))
    except FileNotFoundError as e:
        stats = [SuiteStats(s.name, s.relation, False, len(s.checks), 0, error=str(e)) for s in specs]
    context.build_data_docs()
    result = GateResult(layer, all(s.success for s in stats), stats, _docs_path(context))
    if raise_on_failure and not result.success:
        raise GateFailed(result)
    return result


def run_raw_gate(settings: Settings | None = None, *, raise_on_failure: bool = True) -> GateResult:
    """Gate the raw tables before dbt runs (``expectations.suites.RAW_SUITES``)."""
    return run_gate("raw", settings, raise_on_failure=raise_on_failure)


def run_mart_gate(settings: Settings | None = None, *, raise_on_failure: bool = True) -> GateResult:
    """Gate the marts before they are published (``expectations.suites.MART_SUITES``)."""
    return run_gate("mart", settings, raise_on_failure=raise_on_failure)


def docs_index(settings: Settings | None = None) -> Path:
    """Where the Data Docs index is (it exists once a gate has run)."""
    settings = settings or get_settings()
    return settings.gx_dir / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
