"""Listing and re-queuing quarantined rows.

Re-queuing does not copy rows out of quarantine (they are pseudonymised there). It marks them `requeued` and
rewinds the source so the next extract reads them again from the (fixed) source: a file's state is
forgotten so the file is read again, an SQL/HTTP table's cursor goes back to where that batch started.
Rows already landed are not duplicated: raw keeps each distinct row version once.
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors.landing import set_cursor
from yiwang.ops import ensure_ops
from yiwang.warehouse import Warehouse


@dataclass(frozen=True)
class RequeueResult:
    rows: int
    files_rewound: list[str]
    cursors_rewound: dict[str, str | None]


def list_quarantine(
    wh: Warehouse,
    *,
    system: str | None = None,
    table: str | None = None,
    status: str | None = "open",
    limit: int = 50,
) -> list[dict]:
    where, params = _filters(system, table, None, status, None)
    with wh.transaction() as tx:
        ensure_ops(tx)
        cols = tx.columns("ops", "quarantine")
        rows = tx.query(
            f"select * from ops.quarantine {where} order by quarantined_at, quarantine_id limit ?",
            [*params, limit],
        )
    return [dict(zip(cols, r, strict=True)) for r in rows]


def _filters(
    system: str | None, table: str | None, rule: str | None, status: str | None, ids: list[str] | None
) -> tuple[str, list]:
    clauses, params = [], []
    for col, val in (("system", system), ("table_name", table), ("rule", rule), ("status", status)):
        if val:
            clauses.append(f"{col} = ?")
            params.append(val)
    if ids:
        clauses.append("quarantine_id in (" + ", ".join("?" for _ in ids) + ")")
        params.extend(ids)
    return ("where " + " and ".join(clauses)) if clauses else "", params


def requeue(
    wh: Warehouse,
    *,
    ids: list[str] | None = None,
    system: str | None = None,
    table: str | None = None,
    rule: str | None = None,
) -> RequeueResult:
    if not (ids or system):
        raise ValueError("say which rows to re-queue: quarantine ids, or at least --system")
    where, params = _filters(system, table, rule, "open", ids)
    files: set[str] = set()
    starts: dict[str, list[str | None]] = {}
    with wh.transaction() as tx:
        ensure_ops(tx)
        rows = tx.query(
            f"select system, table_name, batch_id, source_file from ops.quarantine {where}", params
        )
        for sys_, tbl, batch, source_file in rows:
            if source_file:
                tx.execute("delete from ops.file_state where system = ? and path = ?", [sys_, source_file])
                files.add(f"{sys_}:{source_file}")
                continue
            before = tx.query(
                "select cursor_before from ops.load_ledger where system = ? and table_name = ? and batch_id = ?",
                [sys_, tbl, batch],
            )
            starts.setdefault(f"{sys_}.{tbl}", []).append(before[0][0] if before else None)
        # rewind each table to the earliest batch start (None = from the beginning)
        cursors = {k: (None if None in v else min(v)) for k, v in starts.items()}
        for key, start in cursors.items():
            sys_, tbl = key.split(".", 1)
            if start is None:
                tx.execute("delete from ops.load_state where system = ? and table_name = ?", [sys_, tbl])
            else:
                set_cursor(tx, sys_, tbl, start)
        tx.execute(f"update ops.quarantine set status = 'requeued' {where}", params)
    return RequeueResult(len(rows), sorted(files), cursors)
