"""Publishing marts: dbt builds them into build schemas, the mart gate checks those, and only then are they
copied into the public ``mart_*`` schemas — all public marts in ONE transaction; on DuckDB they are then copied
into a new read snapshot that readers open instead of the warehouse (yiwang.snapshot).

``dbt_project/macros/generate_schema_name.sql`` puts every ``mart_*`` schema under ``mart_<x>__build`` when the
environment variable :data:`SUFFIX_ENV` is set (the build DAG and ``yiwang build`` set it; a plain ``dbt build``
without it builds in place, as before). A failed dbt build or mart gate therefore never touches
``mart_catalog.service_catalog``: readers keep the last good marts. :func:`publish` replaces the public tables'
rows (delete + insert, keeping grants and row-level security when the columns are unchanged; drop + create when a
model's columns changed), writes the API's lookup tables from them (``serving.*``, yiwang.serving_tables: one row
per community and grid, what its dashboard is computed from) and the ``ops.build_log`` row in the same
transaction, on DuckDB and PostgreSQL.
On PostgreSQL, once ``yiwang access sync`` has set up department access, the same transaction runs the sync again
after the swap (yiwang.access): a re-created table gets its row-level security, grants and reader views back.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from yiwang import serving_tables
from yiwang.access import configured, sync_tx
from yiwang.dbt_runner import BUILD_ARGS, _environ, run_dbt
from yiwang.freshness import check_freshness
from yiwang.settings import Settings, get_settings
from yiwang.snapshot import write_snapshot
from yiwang.warehouse import BUILD_SUFFIX, SUFFIX_ENV, Tx, open_warehouse, qident, qname

BUILD_LOG_DDL = [
    "create schema if not exists ops",
    """create table if not exists ops.build_log (
        build_id varchar not null, run_id varchar, published_at timestamp not null,
        mart_row_counts varchar not null, gate_statistics varchar, docs_path varchar)""",
]


class NothingToPublish(RuntimeError):
    """No ``mart_*__build`` schema holds a table: dbt did not build into build schemas."""


def build_env() -> dict[str, str]:
    """Environment for dbt so that marts are built into the build schemas."""
    return {SUFFIX_ENV: BUILD_SUFFIX}


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def build_tables(tx: Tx) -> list[tuple[str, str]]:
    """(build schema, table) of every table dbt built into a ``mart_*__build`` schema."""
    rows = tx.query(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema like 'mart\\_%' escape '\\' and table_type in ('BASE TABLE', 'VIEW') order by 1, 2"
    )
    return [(s, t) for s, t in rows if s.endswith(BUILD_SUFFIX)]


def _column_types(tx: Tx, schema: str, table: str) -> list[tuple[str, str]]:
    return [
        tuple(r)
        for r in tx.query(
            "select column_name, data_type from information_schema.columns where table_schema = ? and table_name = ?"
            " order by ordinal_position",
            [schema, table],
        )
    ]


def _relation_kind(tx: Tx, schema: str, table: str) -> str | None:
    return tx.scalar(
        "select table_type from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    )


def swap_in(tx: Tx, build_schema: str, table: str) -> tuple[str, int]:
    """Copy one built mart over its public table inside ``tx``; returns (public relation, rows)."""
    public = build_schema.removesuffix(BUILD_SUFFIX)
    src, dst = qname(build_schema, table), qname(public, table)
    tx.execute(f"create schema if not exists {qident(public)}")
    kind = _relation_kind(tx, public, table)
    if kind == "BASE TABLE" and _column_types(tx, public, table) == _column_types(tx, build_schema, table):
        tx.execute(f"delete from {dst}")
        tx.execute(f"insert into {dst} select * from {src}")
    else:
        if kind == "VIEW":
            tx.execute(f"drop view {dst}")
        elif kind is not None:  # PostgreSQL: the access sync's reader views go too; publish re-creates them
            tx.execute(f"drop table {dst}" + (" cascade" if tx.dialect == "postgres" else ""))
        tx.execute(f"create table {dst} as select * from {src}")
    return f"{public}.{table}", int(tx.scalar(f"select count(*) from {dst}") or 0)


@dataclass(frozen=True)
class Published:
    build_id: str
    mart_row_counts: dict[str, int]
    lookup_row_counts: dict[str, int] = field(default_factory=dict)  # serving.* (yiwang.serving_tables)

    def to_dict(self) -> dict[str, Any]:
        return {"build_id": self.build_id, "mart_row_counts": self.mart_row_counts}


def publish(
    run_id: str | None = None,
    mart_gate: dict[str, Any] | None = None,
    settings: Settings | None = None,
    docs_path: str | None = None,
    accept_output_change: bool | None = None,
    project_dir: Path | None = None,
) -> Published:
    """Swap every built mart into its public schema and log the build, all in one transaction.

    Call only after the mart gate passed on the build schemas. ``mart_gate`` is ``GateResult.to_dict()``.
    The output gate (expectations.output_checks) first compares the built marts with the published ones and
    raises ``OutputGateFailed`` on broken output, publishing nothing, unless ``accept_output_change`` (default
    ``Settings.accept_output_change``, YIWANG_ACCEPT_OUTPUT_CHANGE). The marts' declared dimensions come from the
    dbt project that built them (``project_dir``, default the project's own).
    """
    from expectations import output_checks  # noqa: PLC0415 - dags/build.py imports this module at DAG parse; gates and docs load when a build runs

    settings = settings or get_settings()
    build_id = uuid.uuid4().hex
    accept = settings.accept_output_change if accept_output_change is None else accept_output_change
    with open_warehouse(settings.warehouse_url) as wh:
        try:
            published = _publish(wh, build_id, run_id, mart_gate, settings, docs_path, accept, project_dir)
        except output_checks.OutputGateFailed as e:  # rolled back: log the refusal on its own
            output_checks.record_refusal(wh, e, build_id, run_id)
            raise
        if (
            wh.dialect == "duckdb"
        ):  # readers open a copy, never the file the pipeline writes (yiwang.snapshot)
            names = sorted(published.mart_row_counts) + sorted(published.lookup_row_counts)
            tables = [tuple(name.split(".", 1)) for name in names]
            write_snapshot(wh.connection(), settings, build_id, tables)  # type: ignore[arg-type]
        return published


def _publish(
    wh: Any,
    build_id: str,
    run_id: str | None,
    mart_gate: dict[str, Any] | None,
    settings: Settings,
    docs_path: str | None,
    accept: bool,
    project_dir: Path | None = None,
) -> Published:
    from expectations import output_checks  # noqa: PLC0415 - dags/build.py imports this module at DAG parse; gates and docs load when a build runs

    with wh.transaction() as tx:
        tables = build_tables(tx)
        if not tables:
            raise NothingToPublish(
                f"no mart_*{BUILD_SUFFIX} schema holds a table: run dbt with {SUFFIX_ENV}={BUILD_SUFFIX} first"
            )
        checked = output_checks.gate(
            tx, tables, max_row_change=settings.publish_max_row_change, accept=accept, project_dir=project_dir
        )
        counts = dict(swap_in(tx, s, t) for s, t in tables)
        lookups = serving_tables.write(tx)  # from the marts just swapped in: readers see both or neither
        # PostgreSQL: department access, once set up, is kept in step in the same transaction
        if tx.dialect == "postgres":
            prefix = configured(tx)
            if prefix is not None:
                sync_tx(tx, prefix)
        output_checks.record(tx, checked, build_id, run_id)
        for stmt in BUILD_LOG_DDL:
            tx.execute(stmt)
        stats = {
            s["suite"]: {"evaluated": s["evaluated"], "successful": s["successful"]}
            for s in (mart_gate or {}).get("suites", [])
        }
        tx.execute(
            "insert into ops.build_log values (?, ?, ?, ?, ?, ?)",
            [
                build_id,
                run_id,
                _utcnow(),
                json.dumps(counts, sort_keys=True),
                json.dumps(stats),
                docs_path or (mart_gate or {}).get("docs_path"),
            ],
        )
    return Published(build_id, counts, lookups)


# --- docs site ------------------------------------------------------------------------------------------

SITE_INDEX = """<!doctype html><meta charset="utf-8"><title>yiwang docs</title>
<h1>yiwang (一网) documentation</h1>
<ul>
<li><a href="dbt/index.html">dbt docs</a>: models, sources, lineage, exposures (manifest.json, catalog.json)</li>
<li><a href="gx/index.html">Great Expectations Data Docs</a>: raw and mart gate results</li>
<li><a href="/portal/">the portal page</a> and <a href="/docs">the API</a> (when served by <code>yiwang serve</code>)</li>
</ul>
"""
DOCS_LINKS_MARK = "**Mart gate results (latest):**"


def build_docs_site(
    settings: Settings | None = None, *, target: str | None = None, dbt_docs: bool = True
) -> Path:
    """``Settings.site_dir`` (git-ignored, under YIWANG_HOME): ``dbt/index.html`` from ``dbt docs generate``
    (describing the public schemas) and ``gx/`` = the GX Data Docs. Returns the site's index.html."""

    settings = settings or get_settings()
    site = settings.site_dir
    site.mkdir(parents=True, exist_ok=True)
    if dbt_docs:
        run_dbt(["docs", "generate", "--target-path", str(site / "dbt")], target=target, settings=settings)
        link_marts_in_docs(site / "dbt" / "manifest.json")
    gx_docs = settings.gx_dir / "gx" / "uncommitted" / "data_docs" / "local_site"
    if gx_docs.is_dir():
        shutil.copytree(gx_docs, site / "gx", dirs_exist_ok=True)
    index = site / "index.html"
    index.write_text(SITE_INDEX, encoding="utf-8")
    return index


def link_marts_in_docs(manifest_path: Path) -> int:
    """Each public mart's description in the docs site's manifest (the copy ``dbt docs generate`` wrote for the
    site, read by its index.html) ends with links to the API routes that read the mart (serving.routes.ROUTE_MARTS;
    the OpenAPI page of each) and to its mart gate suites' latest results (``/docs-site/gates/<suite>``, which the
    API redirects to the newest Data Docs page). Links are site-absolute: they work where ``yiwang serve`` serves
    the site. Returns the number of marts linked."""
    from expectations.suites import suites  # noqa: PLC0415 - dags/build.py imports this module at DAG parse; gates and docs load when a build runs
    from serving.routes import ROUTE_MARTS  # noqa: PLC0415 - dags/build.py imports this module at DAG parse; gates and docs load when a build runs

    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    gate_suites: dict[str, list[str]] = {}
    for spec in suites("mart", manifest):
        gate_suites.setdefault(spec.relation, []).append(spec.name)
    routes: dict[str, list[str]] = {}
    for path, (tag, operation, marts) in ROUTE_MARTS.items():
        for mart in marts:
            routes.setdefault(mart, []).append(f"[`GET {path}`](/docs#/{tag}/{operation})")
    linked = 0
    for node in manifest.get("nodes", {}).values():
        schema = str(node.get("schema") or "").removesuffix(BUILD_SUFFIX)
        if node.get("resource_type") != "model" or not schema.startswith("mart_"):
            continue
        description = node.get("description") or ""
        if DOCS_LINKS_MARK in description:
            continue
        relation = f"{schema}.{node.get('alias') or node['name']}"
        api = (
            ", ".join(routes.get(relation, [])) or "not served by the API (read it from the published marts)"
        )
        gates = ", ".join(f"[{n}](/docs-site/gates/{n})" for n in gate_suites.get(relation, [])) or "none"
        node["description"] = f"{description.rstrip()}\n\n**API:** {api}\n\n{DOCS_LINKS_MARK} {gates}"
        linked += 1
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    return linked


# --- the build: freshness -> raw gate -> dbt build -> mart gate -> publish -> docs -------------------------


@dataclass
class BuildOutcome:
    freshness: Any = None
    raw_gate: Any = None
    mart_gate: Any = None
    published: Published | None = None
    docs: Path | None = None
    steps: list[str] = field(default_factory=list)


@contextmanager
def build_schemas() -> Iterator[None]:
    """dbt (in this process) builds marts into the build schemas while inside this block."""

    with _environ(build_env()):
        yield


def build_and_publish(
    settings: Settings | None = None,
    *,
    target: str | None = None,
    run_id: str | None = None,
    dbt_args: list[str] | None = None,
    freshness: bool = True,
    docs: bool = True,
    on_step: Any = None,
    accept_output_change: bool | None = None,
    as_of: dt.date | None = None,
    full_refresh: bool = False,
) -> BuildOutcome:
    """What the build DAG does, in-process. Raises at the first failing step (StaleSourcesError, GateFailed,
    DbtRunError, OutputGateFailed); the public marts then stay as the last successful build left them.

    ``as_of``: the dbt var ``as_of`` — the marts describe that day (records after it left out, rolling windows and
    period figures ending on it) instead of the latest day of the data. ``full_refresh``: dbt's --full-refresh
    (every incremental staging table rebuilt from all raw rows; the resident key registry re-minted)."""
    from expectations.run import run_mart_gate, run_raw_gate  # noqa: PLC0415 - dags/build.py imports this module at DAG parse; gates and docs load when a build runs

    settings = settings or get_settings()
    out = BuildOutcome()
    say = on_step or (lambda step, detail: None)
    if freshness:
        out.freshness = check_freshness(settings, target=target)
        say("source freshness", out.freshness.summary())
    out.raw_gate = run_raw_gate(settings)
    read = out.raw_gate.rows_read
    say(
        "raw gate",
        f"passed, read {sum(read.values())} rows ({sum(1 for n in read.values() if n)} of {len(read)} tables "
        f"with rows not validated before), {out.raw_gate.quarantined} rows quarantined",
    )
    with build_schemas():
        run_dbt(
            [*(dbt_args or BUILD_ARGS), *(["--full-refresh"] if full_refresh else [])],
            target=target,
            settings=settings,
            dbt_vars={"as_of": as_of.isoformat()} if as_of else None,
        )
    say("dbt build", f"ok, as of {as_of.isoformat()}" if as_of else "ok")
    out.mart_gate = run_mart_gate(settings, schema_suffix=BUILD_SUFFIX)
    say("mart gate", "passed")
    out.published = publish(
        run_id, out.mart_gate.to_dict(), settings, accept_output_change=accept_output_change
    )
    say("publish", ", ".join(f"{k}={v}" for k, v in out.published.mart_row_counts.items()))
    if docs:
        out.docs = build_docs_site(settings, target=target)
        say("docs", str(out.docs))
    return out
