"""Record a published build: one row in ``ops.build_log`` with the row count of every gated mart.

Called only after the mart gate passed, so a row here means "these marts were validated and published".
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from expectations.suites import MART_SUITES
from yiwang.settings import Settings, get_settings
from yiwang.warehouse import open_warehouse, qname

BUILD_LOG_DDL = [
    "create schema if not exists ops",
    """create table if not exists ops.build_log (
        build_id varchar not null, run_id varchar, published_at timestamp not null,
        mart_row_counts varchar not null, gate_statistics varchar, docs_path varchar)""",
]


def record_build(
    run_id: str | None = None, mart_gate: dict[str, Any] | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    """Insert the ``ops.build_log`` row; ``mart_gate`` is ``GateResult.to_dict()`` of the passed gate."""
    settings = settings or get_settings()
    relations = sorted({(s.schema, s.table) for s in MART_SUITES})
    build_id = uuid.uuid4().hex
    published_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with open_warehouse(settings.warehouse_url) as wh, wh.transaction() as tx:
        for stmt in BUILD_LOG_DDL:
            tx.execute(stmt)
        counts = {f"{s}.{t}": int(tx.scalar(f"select count(*) from {qname(s, t)}")) for s, t in relations}
        stats = {s["suite"]: {"evaluated": s["evaluated"], "successful": s["successful"]}
                 for s in (mart_gate or {}).get("suites", [])}
        tx.execute(
            "insert into ops.build_log values (?, ?, ?, ?, ?, ?)",
            [build_id, run_id, published_at, json.dumps(counts), json.dumps(stats),
             (mart_gate or {}).get("docs_path")],
        )
    return {"build_id": build_id, "mart_row_counts": counts}
