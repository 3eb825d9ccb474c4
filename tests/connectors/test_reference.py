"""Reference CSVs land in raw_reference.*, unchanged files are skipped, a missing one is reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from connector_support import assert_ledger_reconciles, make_settings

from connectors.errors import ExtractError
from connectors.run import extract_reference, extract_system, ledger_summary
from yiwang.warehouse import Warehouse


def test_reference(tmp_path: Path, wh: Warehouse) -> None:
    ref = tmp_path / "reference"
    ref.mkdir()
    (ref / "divisions.csv").write_text(
        "division_code,name,level,parent_code\n420100000000,武汉市,市,\n420106000000,武昌区,区,420100000000\n",
        encoding="utf-8",
    )
    (ref / "departments.csv").write_text(
        "uscc,dept_name,short_name,dept_type\n11420100MB0000000X,武汉市民政局,民政局,政府工作部门\n",
        encoding="utf-8",
    )
    settings = make_settings(tmp_path, reference_dir=ref)
    with pytest.raises(ExtractError, match="event_categories.csv is missing"):
        extract_reference(settings, wh)
    assert (
        wh.scalar("select name from raw_reference.divisions where division_code = '420106000000'") == "武昌区"
    )
    assert wh.scalar("select _source_file from raw_reference.departments") == "departments.csv"

    (ref / "event_categories.csv").write_text(
        "category_code,major_name,minor_name,default_limit_hours\n0101,市容环境,暴露垃圾,24\n",
        encoding="utf-8",
    )
    entries = extract_system("reference", settings, wh)  # the same entry point, by system name
    assert [e.table_name for e in entries] == ["event_categories"]  # the other two unchanged: skipped
    assert extract_reference(settings, wh) == []
    assert_ledger_reconciles(wh)
    summary = {s["system"]: s for s in ledger_summary(wh)}["reference"]
    assert (summary["rows_read"], summary["rows_landed"], summary["failed"]) == (4, 4, 1)
