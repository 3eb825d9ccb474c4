"""Entry points the DAGs and the CLI call: extract one system (or the reference data), and summarise the ledger."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from connectors.errors import ExtractError, TableFailure
from connectors.files import extract_files
from connectors.http import extract_http
from connectors.landing import LedgerEntry
from connectors.lock import run_lock
from connectors.reference import extract_reference_dir
from connectors.sql import extract_sql
from connectors.types import Progress, no_progress
from yiwang.contracts import Table, load_contract
from yiwang.ops import ensure_ops
from yiwang.settings import ConfigError, Settings, SourceConfig, get_settings
from yiwang.warehouse import Warehouse, open_warehouse

Extractor = Callable[
    [Warehouse, SourceConfig, list[Table], Progress], tuple[list[LedgerEntry], list[TableFailure]]
]

EXTRACTORS: dict[str, Extractor] = {"sql": extract_sql, "http": extract_http, "files": extract_files}


def _with_warehouse(settings: Settings, wh: Warehouse | None, fn: Callable[[Warehouse], Any]) -> Any:
    if wh is not None:
        return fn(wh)
    with open_warehouse(settings.warehouse_url) as own:
        return fn(own)


def _finish(system: str, entries: list[LedgerEntry], failures: list[TableFailure]) -> list[LedgerEntry]:
    if failures:
        raise ExtractError(system, failures, entries)
    return entries


def extract_system(
    system: str,
    settings: Settings | None = None,
    wh: Warehouse | None = None,
    progress: Progress | None = None,
    full_refresh: bool = False,
) -> list[LedgerEntry]:
    """Extract every contract table of ``system`` into raw_<system>.*.

    ``full_refresh`` reads SQL/HTTP sources from the beginning instead of from the cursor (minus the
    lookback window); rows already in raw are not landed twice. File sources always read new files.

    Returns the ledger entries of the batches landed. If some tables/files failed, the others still land and
    :class:`ExtractError` is raised at the end, listing the failures (each also has a failed ledger row).
    One extract of a system at a time: a second one raises :class:`~connectors.lock.LockHeld` naming the first.
    """
    if system == "reference":
        return extract_reference(settings, wh, progress)
    settings = settings or get_settings()
    progress = progress or no_progress
    contract = load_contract()
    if system not in contract.systems:
        raise ConfigError(f"unknown system {system!r}; the contract has {sorted(contract.systems)}")
    source = settings.source(system)
    if full_refresh:
        source = dataclasses.replace(source, options={**source.options, "full_refresh": True})
    extractor = EXTRACTORS.get(source.kind)
    if extractor is None:  # pragma: no cover - settings already validates kind
        raise ConfigError(f"source {system}: unsupported kind {source.kind!r}")
    tables = list(contract.systems[system].tables.values())

    def run(w: Warehouse) -> list[LedgerEntry]:
        entries, failures = extractor(w, source, tables, progress)
        return _finish(system, entries, failures)

    with run_lock(settings.home, f"extract-{system}"):
        return _with_warehouse(settings, wh, run)


def extract_reference(
    settings: Settings | None = None,
    wh: Warehouse | None = None,
    progress: Progress | None = None,
) -> list[LedgerEntry]:
    """Land the reference CSVs from ``settings.reference_dir`` into raw_reference.* (unchanged files skipped)."""
    settings = settings or get_settings()

    def run(w: Warehouse) -> list[LedgerEntry]:
        entries, failures = extract_reference_dir(w, settings.reference_dir, progress or no_progress)
        return _finish("reference", entries, failures)

    with run_lock(settings.home, "extract-reference"):
        return _with_warehouse(settings, wh, run)


def ledger_summary(wh: Warehouse) -> list[dict[str, Any]]:
    """Per system: batches, failed batches, rows read/landed/new/quarantined, last load finished."""
    with wh.transaction() as tx:
        ensure_ops(tx)
        rows = tx.query(
            "select system, count(*), sum(case when status = 'failed' then 1 else 0 end), "
            "sum(rows_read), sum(rows_landed), sum(rows_new), sum(rows_quarantined), max(finished_at) "
            "from ops.load_ledger group by system order by system"
        )
    keys = (
        "system",
        "batches",
        "failed",
        "rows_read",
        "rows_landed",
        "rows_new",
        "rows_quarantined",
        "last_finished_at",
    )
    return [
        {
            k: (int(v) if k not in ("system", "last_finished_at") and v is not None else v)
            for k, v in zip(keys, r, strict=True)
        }
        for r in rows
    ]
