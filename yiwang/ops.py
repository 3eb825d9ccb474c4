"""The `ops` schema: the hub's own bookkeeping, one owner for its tables.

load_ledger (rows read = landed + quarantined, per batch), quarantine (rule, reason, pseudonymised row: one entry
per row, however often it is delivered) and quarantine_sightings (which batches quarantined it), load_state
and file_state (cursors, delivered files), future_rows (cursors beyond extraction time + skew) and raw_rejects
(rows a raw gate rejected after landing; staging's latest_version macro leaves them out). The loader
(connectors/) and the gates (expectations/) both write here, so the DDL lives in the foundation.
"""

from __future__ import annotations

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
