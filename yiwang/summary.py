"""The run summary: rows read / landed / quarantined per system, models built, gate results, where things are."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from rich.console import Console
from rich.table import Table

from yiwang.dbt_runner import manifest_path
from yiwang.settings import get_settings
from yiwang.snapshot import current_snapshot, snapshot_dir
from yiwang.warehouse import Tx, open_warehouse, qname


def ledger_by_system(tx: Tx, since: dt.datetime | None = None) -> list[tuple[Any, ...]]:
    where = "where started_at >= ?" if since else ""
    return tx.query(
        "select system, count(*) as batches, sum(rows_read), sum(rows_landed), sum(rows_new), "
        "sum(rows_quarantined), sum(case when status <> 'success' then 1 else 0 end) "
        f"from ops.load_ledger {where} group by system order by system",
        [since] if since else None,
    )


def unreconciled_batches(tx: Tx) -> int:
    return int(
        tx.scalar("select count(*) from ops.load_ledger where rows_read <> rows_landed + rows_quarantined")
        or 0
    )


def raw_counts(tx: Tx) -> dict[str, int]:
    out: dict[str, int] = {}
    for schema, table in tx.query(
        "select table_schema, table_name from information_schema.tables where table_schema like 'raw_%' "
        "order by 1, 2"
    ):
        out[schema.removeprefix("raw_")] = out.get(schema.removeprefix("raw_"), 0) + int(
            tx.scalar(f"select count(*) from {qname(schema, table)}") or 0
        )
    return out


def mart_counts(tx: Tx) -> dict[str, int]:
    rows = tx.query(
        "select table_schema, table_name from information_schema.tables where table_schema like 'mart_%' "
        "and table_schema not like '%__build' order by 1, 2"
    )
    return {f"{s}.{t}": int(tx.scalar(f"select count(*) from {qname(s, t)}") or 0) for s, t in rows}


def print_ledger(console: Console, since: dt.datetime | None = None) -> None:
    with open_warehouse() as wh, wh.transaction() as tx:
        if not tx.table_exists("ops", "load_ledger"):
            console.print("no loads yet")
            return
        rows = ledger_by_system(tx, since)
        raw = raw_counts(tx)
        bad = unreconciled_batches(tx)
    t = Table(
        "system",
        "batches",
        "read",
        "landed",
        "new",
        "quarantined",
        "failed",
        "raw rows (total)",
        title="loads" + (" (this run)" if since else " (all time)"),
    )
    by_system = {r[0]: r[1:] for r in rows}
    for system in sorted(set(by_system) | set(raw)):
        batches, read, landed, new, quar, failed = by_system.get(system, (0, 0, 0, 0, 0, 0))
        t.add_row(
            system,
            str(batches),
            str(read or 0),
            str(landed or 0),
            str(new or 0),
            str(quar or 0),
            str(failed or 0),
            str(raw.get(system, 0)),
        )
    console.print(t)
    console.print(
        "ledger reconciles (read = landed + quarantined) for every batch"
        if bad == 0
        else f"[red]{bad} batches do not reconcile[/]"
    )


def _last_build(tx: Tx) -> tuple[Any, ...] | None:
    if not tx.table_exists("ops", "build_log"):
        return None
    rows = tx.query(
        "select build_id, run_id, published_at, mart_row_counts from ops.build_log "
        "order by published_at desc limit 1"
    )
    return rows[0] if rows else None


def _project_size() -> dict[str, int]:
    """Models, data tests and unit tests in the dbt project (from the last parsed manifest)."""
    path = manifest_path()  # the one the build wrote ($DBT_TARGET_PATH when set)
    if not path.exists():
        return {}
    m = json.loads(path.read_text(encoding="utf-8"))
    nodes = m.get("nodes", {}).values()
    return {
        "models": sum(1 for n in nodes if n["resource_type"] == "model"),
        "data tests": sum(1 for n in nodes if n["resource_type"] == "test"),
        "unit tests": len(m.get("unit_tests", {})),
        "seeds": sum(1 for n in nodes if n["resource_type"] == "seed"),
    }


def identity_counts(tx: Tx) -> dict[str, int]:
    rows = tx.query(
        "select table_name from information_schema.tables where table_schema = 'identity' order by 1"
    )
    return {
        f"identity.{t}": int(tx.scalar(f"select count(*) from {qname('identity', t)}") or 0) for (t,) in rows
    }


def print_summary(console: Console, since: dt.datetime | None = None) -> None:
    settings = get_settings()
    print_ledger(console, since)
    with open_warehouse() as wh, wh.transaction() as tx:
        marts = mart_counts(tx)
        idents = identity_counts(tx)
        build = _last_build(tx)
        gate_cols = ["gate", "suite", "passed", "expectations ok", "rows read", "quarantined"]
        gates = (  # the latest run of each gate (expectations/run.py writes ops.gate_log)
            tx.query(
                "select gate, suite, success, cast(successful as varchar) || '/' || cast(evaluated as varchar),"
                " rows_checked, rows_quarantined from ops.gate_log g where run_name = (select max(run_name)"
                " from ops.gate_log h where h.gate = g.gate) order by gate desc, suite"
            )
            if tx.table_exists("ops", "gate_log")
            else None
        )
    t = Table("table", "rows", title="published marts and identity tables")
    for name, n in {**marts, **idents}.items():
        t.add_row(name, str(n))
    console.print(t)
    size = _project_size()
    if size:
        console.print("dbt project: " + ", ".join(f"{n} {k}" for k, n in size.items()))
    if build:
        build_id, run_id, published_at, counts = build
        console.print(
            f"last published build: {published_at:%Y-%m-%d %H:%M:%S} UTC ({run_id or build_id}): every "
            f"model built and every dbt test and mart gate passed; {len(json.loads(counts))} marts published"
        )
    else:
        console.print("[yellow]no build has been published yet[/]")
    if gates:
        g = Table(*gate_cols, title="Great Expectations gates")
        for row in gates:
            g.add_row(*[str(v) for v in row])
        console.print(g)
    docs = sorted(settings.gx_dir.rglob("index.html")) if settings.gx_dir.exists() else []
    console.print(f"warehouse: {settings.warehouse_url}")
    if settings.is_duckdb and current_snapshot(settings) is not None:
        console.print(f"read snapshot (API, analysts): {snapshot_dir(settings) / 'marts.duckdb'}")
    if docs:
        console.print(f"GX Data Docs: {docs[0]}")
    site = settings.site_dir
    if (site / "index.html").exists():
        # the dbt docs load manifest.json and catalog.json with fetch(), which a file:// page may not: the site is
        # served by the API app (serving/app.py mounts it at /docs-site/)
        url = "http://127.0.0.1:8080"
        console.print(
            f"docs site: {url}/docs-site/ (dbt docs {url}/docs-site/dbt/, GX results {url}/docs-site/gx/index.html,"
            f" portal page {url}/portal/) while `yiwang serve` runs; the files: {site}"
        )
