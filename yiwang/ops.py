"""The `ops` schema: the hub's own bookkeeping, one owner for its tables.

load_ledger (rows read = landed + quarantined, per batch), quarantine (rule, reason, pseudonymised row: one entry
per row, however often it is delivered) and quarantine_sightings (which batches quarantined it), load_state
and file_state (cursors, delivered files), future_rows (cursors beyond extraction time + skew) and raw_rejects
(rows a raw gate rejected after landing; staging's latest_version macro leaves them out). The loader
(connectors/) and the gates (expectations/) both write here, so the DDL lives in the foundation, and so does
the one writer of ops.quarantine (:func:`quarantine_row`, and :func:`quarantine_batch` for a load's rows, with :func:`quarantine_data`, which pseudonymises
whatever shape a rejected row has).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from yiwang.privacy import pseudonymise_csv_line, pseudonymise_row, pseudonymise_text, pseudonymise_values
from yiwang.warehouse import Tx

OPS_DDL = [
    "create schema if not exists ops",
    """create table if not exists ops.load_ledger (
        system varchar not null, table_name varchar not null, batch_id varchar not null,
        source_file varchar, started_at timestamp not null, finished_at timestamp not null,
        rows_read bigint not null, rows_landed bigint not null, rows_new bigint not null,
        rows_quarantined bigint not null, cursor_before varchar, cursor_after varchar,
        status varchar not null, message varchar)""",
    """create table if not exists ops.quarantine (
        quarantine_id varchar primary key, system varchar not null, table_name varchar not null,
        batch_id varchar not null, source_file varchar, rule varchar not null, reason varchar not null,
        row_data varchar, quarantined_at timestamp not null, status varchar not null)""",
    # every batch that quarantined a row, also a batch delivered again whose rows already have their entry above
    # (the ledger invariant counts these per batch)
    """create table if not exists ops.quarantine_sightings (
        batch_id varchar not null, quarantine_id varchar not null, seen_at timestamp not null)""",
    """create table if not exists ops.load_state (
        system varchar not null, table_name varchar not null, cursor_value varchar,
        updated_at timestamp not null, primary key (system, table_name))""",
    """create table if not exists ops.file_state (
        system varchar not null, path varchar not null, checksum varchar not null, size bigint,
        mtime double precision, batch_id varchar not null, loaded_at timestamp not null,
        primary key (system, path))""",
    # source rows whose cursor lies beyond extraction time + skew: landed, but the cursor does not follow them
    """create table if not exists ops.future_rows (
        system varchar not null, table_name varchar not null, row_key varchar, cursor_column varchar,
        cursor_value varchar not null, _row_hash varchar not null, batch_id varchar not null,
        extracted_at timestamp not null, flagged_at timestamp not null)""",
    # rows a raw gate rejected after landing; staging leaves them out (macro latest_version)
    """create table if not exists ops.raw_rejects (
        system varchar not null, table_name varchar not null, _row_hash varchar not null, rule varchar not null,
        batch_id varchar, quarantine_id varchar not null, rejected_at timestamp not null)""",
]


def ensure_ops(tx: Tx) -> None:
    """Create the ops schema and its tables where missing (idempotent)."""
    for stmt in OPS_DDL:
        tx.execute(stmt)


def quarantine_data(row: Any, key: bytes, columns: list[str | None] | None = None) -> str:
    """A rejected row as ops.quarantine.row_data: personal data pseudonymised (HMAC with ``key``), whatever
    shape the row has: fields by name (a mapping), cells by their column (a list, or a CSV text line with
    ``columns`` naming its cells by position), unparsed text by pattern."""
    if isinstance(row, str):
        return (
            pseudonymise_csv_line(row, columns, key) if columns is not None else pseudonymise_text(row, key)
        )
    if isinstance(row, Mapping):
        return json.dumps(pseudonymise_row(dict(row), key), ensure_ascii=False, default=str)
    if isinstance(row, (list, tuple)) and columns is not None:
        return json.dumps(
            pseudonymise_values(list(row), columns, key, aligned=len(row) <= len(columns)),
            ensure_ascii=False,
            default=str,
        )
    return pseudonymise_text(json.dumps(row, ensure_ascii=False, default=str), key)


_LOOK_UP = object()  # quarantine_row's ``status``: not known to the caller, read it


def quarantine_row(
    tx: Tx,
    quarantine_id: str,
    *,
    system: str,
    table_name: str,
    batch_id: str,
    source_file: str | None,
    rule: str,
    reason: str,
    row_data: str,
    at: dt.datetime,
    reopen: str,
    status: Any = _LOOK_UP,
) -> str:
    """The one writer of ops.quarantine: one entry per ``quarantine_id`` (the caller derives it from what was
    quarantined, so the same row rejected again is the same entry). A new id is inserted 'open'; an existing
    entry whose status is ``reopen`` ('requeued' at load: re-queued after a fix at the source and still bad;
    'released' at the raw gate: rejected again) is opened again; any other existing entry is left as it is.
    ``status`` is the entry's current status when the caller already read it (None: no entry), so a caller
    that writes many rows can read them all at once. Returns 'inserted', 'reopened' or 'unchanged'."""
    if status is _LOOK_UP:
        status = tx.scalar("select status from ops.quarantine where quarantine_id = ?", [quarantine_id])
    if status is not None:
        if status == reopen:
            tx.execute("update ops.quarantine set status = 'open' where quarantine_id = ?", [quarantine_id])
            return "reopened"
        return "unchanged"
    tx.execute(
        "insert into ops.quarantine values (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open')",
        [quarantine_id, system, table_name, batch_id, source_file, rule, reason, row_data, at],
    )
    return "inserted"


@dataclass(frozen=True)
class QuarantineEntry:
    """One row a load quarantines (see :func:`quarantine_batch`)."""

    quarantine_id: str
    rule: str
    reason: str
    row_data: str
    at: dt.datetime


def quarantine_batch(
    tx: Tx,
    batch_id: str,
    entries: Sequence[QuarantineEntry],
    *,
    system: str,
    table_name: str,
    source_file: str | None,
    reopen: str,
) -> None:
    """:func:`quarantine_row` of each of a batch's entries (ids distinct), with its sighting, in a few
    statements however many there are: every sighting inserted at once; entries already there whose status
    is ``reopen`` opened again; the ids not there yet inserted 'open' at once; the others left as they are."""
    if not entries:
        return
    tx.insert_arrow(
        "ops.quarantine_sightings",
        pa.table(
            {
                "batch_id": pa.array([batch_id] * len(entries), pa.string()),
                "quarantine_id": pa.array([e.quarantine_id for e in entries], pa.string()),
                "seen_at": pa.array([e.at for e in entries], pa.timestamp("us")),
            }
        ),
    )
    this_batch = "select quarantine_id from ops.quarantine_sightings where batch_id = ?"
    existing = {
        i
        for (i,) in tx.query(
            f"select quarantine_id from ops.quarantine where quarantine_id in ({this_batch})", [batch_id]
        )
    }
    if existing:
        tx.execute(
            f"update ops.quarantine set status = 'open' where status = ? and quarantine_id in ({this_batch})",
            [reopen, batch_id],
        )
    new = [e for e in entries if e.quarantine_id not in existing]
    if not new:
        return
    n = len(new)
    tx.insert_arrow(
        "ops.quarantine",
        pa.table(
            {
                "quarantine_id": pa.array([e.quarantine_id for e in new], pa.string()),
                "system": pa.array([system] * n, pa.string()),
                "table_name": pa.array([table_name] * n, pa.string()),
                "batch_id": pa.array([batch_id] * n, pa.string()),
                "source_file": pa.array([source_file] * n, pa.string()),
                "rule": pa.array([e.rule for e in new], pa.string()),
                "reason": pa.array([e.reason for e in new], pa.string()),
                "row_data": pa.array([e.row_data for e in new], pa.string()),
                "quarantined_at": pa.array([e.at for e in new], pa.timestamp("us")),
                "status": pa.array(["open"] * n, pa.string()),
            }
        ),
    )
