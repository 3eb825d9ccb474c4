"""The ledger invariant, checkable after any load: ``ops.load_ledger`` agrees with raw and ops.quarantine.

For every batch: rows read = rows landed + rows quarantined; its load-time quarantine rows are really in
``ops.quarantine`` (one entry per row however often it is delivered; each delivery's sightings in
``ops.quarantine_sightings``; rows the raw gate quarantined later carry rules ``gx:...`` / ``schema_drift`` and are not
counted); the raw rows carrying its batch id are exactly its new rows; a failed batch left nothing behind; and
every batch id present in raw belongs to a successful ledger row (no partial batch is visible anywhere).
"""

from __future__ import annotations

from typing import Any

from yiwang.warehouse import Warehouse, qname


def ledger_problems(wh: Warehouse) -> list[str]:
    """Every violation of the ledger invariant, as readable lines (empty when it reconciles)."""
    problems: list[str] = []
    rows = wh.query(
        "select system, table_name, batch_id, rows_read, rows_landed, rows_new, rows_quarantined, status "
        "from ops.load_ledger order by started_at"
    )
    raw_tables = {
        (s, t)
        for s, t in wh.query(
            "select table_schema, table_name from information_schema.tables where table_schema like 'raw_%'"
        )
    }
    gate_rule = "(rule like 'gx:%' or rule = 'schema_drift')"
    has_sightings = bool(
        wh.scalar(
            "select count(*) from information_schema.tables "
            "where table_schema = 'ops' and table_name = 'quarantine_sightings'"
        )
    )
    ok_batches: set[str] = set()
    # a file batch id is deterministic (path + checksum): a re-queued, unchanged file lands again under the same
    # id, so quarantine and raw rows are compared with the sums over that batch id's ledger rows
    sums: dict[tuple[str, str, str], list[int]] = {}
    for system, table, batch, read, landed, new, quarantined, status in rows:
        where = f"{system}.{table} batch {batch}"
        if read != landed + quarantined:
            problems.append(f"{where}: read {read} != landed {landed} + quarantined {quarantined}")
        if new > landed:
            problems.append(f"{where}: new {new} > landed {landed}")
        if status == "success":
            ok_batches.add(batch)
            acc = sums.setdefault((system, table, batch), [0, 0])
            acc[0] += quarantined
            acc[1] += new
        elif status != "failed":
            problems.append(f"{where}: status {status!r}")
    for system, table, batch, *_rest, status in rows:
        if status != "failed":
            continue
        q = _quarantined(wh, batch, gate_rule, has_sightings)
        in_raw = (
            wh.scalar(f"select count(*) from {qname('raw_' + system, table)} where _batch_id = ?", [batch])
            if (f"raw_{system}", table) in raw_tables
            else 0
        )
        if (q, in_raw) != (0, 0) and batch not in ok_batches:
            problems.append(
                f"{system}.{table} batch {batch}: failed batch left rows behind (raw {in_raw}, "
                f"quarantine {q})"
            )
    for (system, table, batch), (quarantined, new) in sums.items():
        where = f"{system}.{table} batch {batch}"
        q = _quarantined(wh, batch, gate_rule, has_sightings)
        in_raw = (
            wh.scalar(f"select count(*) from {qname('raw_' + system, table)} where _batch_id = ?", [batch])
            if (f"raw_{system}", table) in raw_tables
            else 0
        )
        if q != quarantined:
            problems.append(f"{where}: {q} quarantine rows, ledger says {quarantined}")
        if in_raw != new:
            problems.append(f"{where}: {in_raw} raw rows, ledger says {new} new")
    for schema, table in sorted(raw_tables):
        for (batch,) in wh.query(f"select distinct _batch_id from {qname(schema, table)}"):
            if batch not in ok_batches:
                problems.append(
                    f"{schema}.{table}: rows of batch {batch} that no successful ledger row accounts for"
                )
    return problems


def _quarantined(wh: Warehouse, batch: str, gate_rule: str, has_sightings: bool) -> int:
    """Rows the loader quarantined under this batch id: one sighting per row (ops.quarantine_sightings), also for
    rows an earlier delivery already quarantined (their one ops.quarantine entry is the earlier batch's). Batches
    landed before sightings were recorded have none: their own ops.quarantine entries are counted."""
    if has_sightings:
        seen = int(
            wh.scalar("select count(*) from ops.quarantine_sightings where batch_id = ?", [batch]) or 0
        )
        if seen:
            return seen
    return int(
        wh.scalar(f"select count(*) from ops.quarantine where batch_id = ? and not {gate_rule}", [batch]) or 0
    )


def assert_ledger_reconciles(wh: Warehouse) -> list[tuple[Any, ...]]:
    """Raise AssertionError listing every violation; returns the ledger rows."""
    problems = ledger_problems(wh)
    assert not problems, "ledger does not reconcile:\n  " + "\n  ".join(problems)
    return wh.query(
        "select system, table_name, batch_id, rows_read, rows_landed, rows_new, rows_quarantined, "
        "status, message from ops.load_ledger order by started_at"
    )
