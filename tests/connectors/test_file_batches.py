"""File drops land column by column (cells, Arrow batches) exactly as they landed row by row (a dict per row,
one quarantine entry written at a time): the same raw rows and row hashes, ledger and quarantine."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import openpyxl
import pytest

import connectors.files as files
from connectors.files import DropFile, land_file, sha256_file
from connectors.landing import TableLoad, sanitise_column, to_text, utcnow
from yiwang.contracts import load_contract
from yiwang.ops import quarantine_row
from yiwang.warehouse import open_warehouse


class RowByRowLoad(TableLoad):
    """The landing as it was before batches: each row cleaned on its own into a dict of text when given, each
    quarantined row written at once (its sighting, then its entry through quarantine_row)."""

    def add_cells(self, names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.add_rows([dict(zip(names, row, strict=True)) for row in rows])

    def add_rows(self, rows: Any) -> None:
        for row in rows:
            self.rows_read += 1
            clean = {sanitise_column(k) if k not in self._known else k: to_text(v) for k, v in row.items()}
            self._land_one(clean)

    def _land_one(self, clean: dict[str, str | None]) -> None:
        self._land({k: [v] for k, v in clean.items()}, 1)

    def quarantine(self, row: Any, rule: str, reason: str, **kw: Any) -> None:
        super().quarantine(row, rule, reason, **kw)
        e = self._quarantined.pop()
        assert self._tx is not None
        self._tx.execute(
            "insert into ops.quarantine_sightings values (?, ?, ?)", [self.batch_id, e.quarantine_id, e.at]
        )
        quarantine_row(
            self._tx,
            e.quarantine_id,
            system=self.table.system,
            table_name=self.table.name,
            batch_id=self.batch_id,
            source_file=self.source_file,
            rule=e.rule,
            reason=e.reason,
            row_data=e.row_data,
            at=e.at,
            reopen="requeued",
        )


OWNERS = (
    "小区名称,楼栋,单元,房间号,业主姓名,手机,身份证号,建筑面积（㎡）,Extra Col,extra_col,\r\n"
    "幸福家园,3,2,501,张伟,13800138000,420106199001011234,89.5,a,b,\r\n"
    "幸福家园,3,2,502,李娜,13900139000,4.20103E+17,92,,,\r\n"
    '幸福家园,3,2,503,"王""芳",,,"多\n行",c,,\r\n'
    "幸福家园,3,2,501,张伟,13800138000,420106199001011234,89.5,a,b,\r\n"  # an in-batch duplicate
    "幸福家园,3,2,504,赵,1,2,3,4,5,6,7,8\r\n"  # more fields than the header
    ",,,,,,,,,,\r\n"
    "幸福家园,3,2,505,钱\r\n"  # truncated
)
TICKETS = [
    '{"gdbh":"GD1","ldsj":"2024-11-23 01:59:21","cfgd":NaN,"n":3,"f":1.5,"b":true,"o":{"x":[1,"网"]}}',
    '{"gdbh":"GD2","ldr":"罗勇成","lddh":"18154162424","New Field":"x","new_field":"y"}',
    '{"gdbh":"GD3","new_field":"y2","New Field":"x2","nr":"quote \\" backslash \\\\ tab \\t"}',
    '{"gdbh":"GD1","ldsj":"2024-11-23 01:59:21","cfgd":NaN,"n":3,"f":1.5,"b":true,"o":{"x":[1,"网"]}}',
    '{"gdbh":"","ldr":"无键"}',
    "[1,2]",
    '{"gdbh": "GD4", broken',
    '{"gdbh":"GD5"}',
]


def drops(root: Path) -> dict[str, Path]:
    """A dirty GBK owners CSV, a dirty JSONL day of tickets and an owners XLSX (numbers, dates, blank rows)."""
    out = {
        "property/owners.csv": root / "acme/2024-03/owners.csv",
        "hotline/tickets.jsonl": root / "2024-11-23.jsonl",
    }
    for p in out.values():
        p.parent.mkdir(parents=True, exist_ok=True)
    gbk = OWNERS.encode("gbk")
    lines = gbk.split(b"\r\n")
    lines.insert(3, "幸福家园,3,2,509,孙".encode() + b"\xff\xfe,,,,,,,,")  # an undecodable line
    out["property/owners.csv"].write_bytes(b"\r\n".join(lines))
    out["hotline/tickets.jsonl"].write_bytes("\n".join(TICKETS).encode() + b"\n\xff\xfe{}\n")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["业主信息表"])
    ws.append(["小区名称", "楼栋", "单元", "房间号", "业主姓名", "身份证号", "建筑面积", "入住日期"])
    ws.append(["阳光小区", 3, 2, 501, "周", 420106199001011234, 89.5, dt.datetime(2020, 5, 1)])
    ws.append([None] * 8)
    ws.append(["阳光小区", 3, 2, 502, "吴", "420106199001011234", 90.0, dt.datetime(2020, 5, 1, 8, 30)])
    ws.append(["阳光小区", 3, 2, 503, "郑", None, None, None, "beyond the header"])
    ws.append(["阳光小区", 3, 2, 501, "周", 420106199001011234, 89.5, dt.datetime(2020, 5, 1)])
    out["property/owners.xlsx"] = root / "beta/2024-03/owners.xlsx"
    out["property/owners.xlsx"].parent.mkdir(parents=True, exist_ok=True)
    wb.save(out["property/owners.xlsx"])
    return out


def snapshot(url: str) -> dict[str, Any]:
    with open_warehouse(url) as wh:
        raw = {}
        for schema in ("raw_property", "raw_hotline"):
            for (name,) in wh.query(
                "select table_name from information_schema.tables where table_schema = ?", [schema]
            ):
                rows = wh.query(f'select * from "{schema}"."{name}"')
                with wh.transaction() as tx:
                    cols = tx.columns(schema, name)
                keep = [i for i, c in enumerate(cols) if c not in ("_batch_id", "_loaded_at")]
                raw[f"{schema}.{name}"] = sorted(
                    tuple(sorted((cols[i], r[i]) for i in keep if r[i] is not None)) for r in rows
                )
        return {
            "raw": raw,
            "ledger": sorted(
                wh.query(
                    "select table_name, source_file, rows_read, rows_landed, rows_new, rows_quarantined, status, "
                    "message from ops.load_ledger"
                )
            ),
            "quarantine": sorted(
                wh.query(
                    "select quarantine_id, system, table_name, source_file, rule, reason, row_data, status "
                    "from ops.quarantine"
                )
            ),
            "sightings": sorted(
                wh.query(
                    "select q.quarantine_id, count(*) from ops.quarantine_sightings s "
                    "join ops.quarantine q using (quarantine_id) group by 1"
                )
            ),
        }


def land_all(url: str, root: Path, paths: dict[str, Path]) -> None:
    contract = load_contract()
    with open_warehouse(url) as wh:
        for what, path in paths.items():
            system, table = what.split("/")[0], what.split("/")[1].split(".")[0]
            st = path.stat()
            f = DropFile(path, path.relative_to(root).as_posix(), sha256_file(path), st.st_size, st.st_mtime)
            land_file(wh, contract.table(system, table), f)


def test_files_land_column_by_column_as_row_by_row(
    tmp_path: Path, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = drops(tmp_path / "drops")
    got = []
    for how in ("rows", "cells"):
        url = warehouse_url if "postgres" in warehouse_url or how == "rows" else warehouse_url + ".cells"
        if how == "rows":
            monkeypatch.setattr(files, "TableLoad", RowByRowLoad)
        else:
            monkeypatch.setattr(files, "TableLoad", TableLoad)
        with open_warehouse(url) as wh, wh.transaction() as tx:
            for schema in ("raw_property", "raw_hotline", "ops"):
                tx.execute(f"drop schema if exists {schema} cascade")
        land_all(url, tmp_path / "drops", paths)
        got.append(snapshot(url))
        # a quarantined row re-queued after a fix, delivered again still bad, opens again; another stays closed
        with open_warehouse(url) as wh, wh.transaction() as tx:
            ids = sorted(i for (i,) in tx.query("select quarantine_id from ops.quarantine"))
            tx.execute("update ops.quarantine set status = 'requeued' where quarantine_id = ?", [ids[0]])
            tx.execute("update ops.quarantine set status = 'resolved' where quarantine_id = ?", [ids[1]])
            tx.execute("delete from ops.file_state")
        land_all(url, tmp_path / "drops", paths)
        got.append(snapshot(url))
    rows_first, rows, cells_first, cells = got
    assert cells_first == rows_first
    assert cells == rows
    # what the files hold, so the comparison is not of two empty warehouses
    assert len(cells["raw"]["raw_hotline.tickets"]) == 4
    assert {r for (_, _, _, _, r, *_) in cells["quarantine"]} >= {
        "encoding",
        "field_count",
        "truncated_row",
        "duplicate_in_batch",
        "missing_key",
        "malformed_json",
        "not_an_object",
    }
    assert sorted(s for (*_, s) in cells["quarantine"]).count("open") == len(cells["quarantine"]) - 1
    assert all(n == 2 for _, n in cells["sightings"])
    hashes = [dict(r)["_row_hash"] for r in cells["raw"]["raw_hotline.tickets"]]
    first = next(dict(r) for r in cells["raw"]["raw_hotline.tickets"] if dict(r)["gdbh"] == "GD1")
    fields = {k: v for k, v in first.items() if k not in ("_row_hash", "_source_file")}
    canonical = json.dumps(
        [*sorted(fields.items()), ("_source_file", first["_source_file"])],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    assert (
        first["_row_hash"] in hashes and first["_row_hash"] == hashlib.sha256(canonical.encode()).hexdigest()
    )
    assert first["o"] == '{"x":[1,"网"]}' and first["b"] == "true" and "cfgd" not in first


def test_add_rows_with_names_sanitised_alike_keeps_each_rows_later_name(tmp_path: Path) -> None:
    """Two names of one batch that land under one column: in each row the later of them wins, as before."""
    table = load_contract().table("hotline", "tickets")
    rows: list[Mapping[str, Any]] = [
        {"gdbh": "1", "A b": "first", "a_b": "second"},
        {"gdbh": "2", "a_b": "second", "A b": "first"},
        {"gdbh": "3", "a_b": None, "A b": "only"},
    ]
    landed = []
    for cls in (RowByRowLoad, TableLoad):
        url = f"duckdb:///{tmp_path / cls.__name__}.duckdb"
        with open_warehouse(url) as wh:
            with cls(wh, table, source_file="d.jsonl") as load:
                load.add_rows(rows)
            landed.append(sorted(wh.query("select gdbh, a_b, _row_hash from raw_hotline.tickets")))
    assert landed[0] == landed[1]
    assert [v for _, v, _ in landed[1]] == ["second", "first", "only"]
    assert utcnow()  # the module's clock is the one the loads use
