"""The one writer of ops.quarantine (yiwang.ops.quarantine_row), which the loader and the raw gate both use."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from yiwang.ops import ensure_ops, quarantine_data, quarantine_row
from yiwang.warehouse import open_warehouse

AT = dt.datetime(2024, 3, 1, 8, 0, 0)
KEY = b"test-key-for-quarantine-rows"


def _write(tx, qid: str, reopen: str, **kw) -> str:
    entry = dict(system="grid", table_name="wg_syrk", batch_id="b1", source_file=None, rule="r", reason="why")
    entry.update(kw)
    return quarantine_row(tx, qid, row_data="{}", at=AT, reopen=reopen, **entry)


def test_one_entry_per_id_and_the_reopen_rule(tmp_path: Path) -> None:
    with open_warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh, wh.transaction() as tx:
        ensure_ops(tx)
        assert _write(tx, "q1", "requeued") == "inserted"
        assert _write(tx, "q1", "requeued", batch_id="b2") == "unchanged"  # delivered again: still one entry
        tx.execute("update ops.quarantine set status = 'requeued' where quarantine_id = 'q1'")
        assert _write(tx, "q1", "released") == "unchanged"  # only the caller's reopen status opens it
        assert _write(tx, "q1", "requeued") == "reopened"
        # a caller that read the status already passes it (no lookup): the raw gate
        tx.execute("update ops.quarantine set status = 'released' where quarantine_id = 'q1'")
        assert _write(tx, "q1", "released", status="released") == "reopened"
        assert _write(tx, "q2", "released", status=None) == "inserted"
        rows = tx.query("select quarantine_id, batch_id, status from ops.quarantine order by 1")
        assert [tuple(r) for r in rows] == [("q1", "b1", "open"), ("q2", "b1", "open")]


def test_row_data_is_pseudonymised_whatever_its_shape() -> None:
    id_no = "42010619800101123X"
    as_dict = quarantine_data({"sfzh": id_no, "xm": "张三"}, KEY)
    as_cells = quarantine_data([id_no, "张三"], KEY, columns=["sfzh", "xm"])
    as_line = quarantine_data(f"{id_no},张三", KEY, columns=["sfzh", "xm"])
    as_text = quarantine_data(f"garbled {id_no}", KEY)
    for data in (as_dict, as_cells, as_line, as_text):
        assert id_no not in data, data
    assert json.loads(as_dict).keys() == {"sfzh", "xm"}
