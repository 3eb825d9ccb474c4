"""Landing column by column (Arrow batches) is landing row by row: the same row hashes, the same raw rows."""

from __future__ import annotations

import random

from connectors.landing import TableLoad, row_hash, row_hashes
from yiwang.contracts import load_contract
from yiwang.warehouse import open_warehouse

# what json.dumps escapes (quote, backslash, control characters) and what it leaves as is (DEL, U+2028, CJK, emoji)
VALUES = [
    None,
    "",
    "a",
    '"',
    "\\",
    "\n",
    "\t\r",
    "\x00",
    "\x1f",
    "\x7f",
    "é网",
    "\u2028",
    "😀",
    "x\\u0041",
    " a ",
]


def test_row_hashes_are_row_hash_of_each_row() -> None:
    names = ["b", "a", 'q"', "网格", "_x"]
    pick = random.Random(14)
    rows = [{n: pick.choice(VALUES) for n in names} for _ in range(300)]
    rows += [dict.fromkeys(names)]  # every field NULL
    columns = {n: [r[n] for r in rows] for n in names}
    for source_file in (None, "", 'acme/2024-03/"owners".xlsx'):
        assert row_hashes(columns, len(rows), source_file) == [row_hash(r, source_file) for r in rows]
    assert row_hashes({}, 2, "f.csv") == [row_hash({}, "f.csv")] * 2


def test_add_columns_lands_what_add_rows_lands(warehouse_url: str) -> None:
    grid = load_contract().table("grid", "wg_grid")
    names = ["wgbm", "wgmc", "hs", "update_time", "Extra Col"]
    cells = [
        ["420106001001001", "前进\n第1网格", 120, "2024-01-01 08:00:00", None],
        ["420106001001002", None, 98.5, "2024-01-02 08:00:00", "x"],
        ["420106001001002", None, 98.5, "2024-01-02 08:00:00", "x"],  # an in-batch duplicate
    ]
    landed = []
    for how in ("rows", "columns"):
        with open_warehouse(warehouse_url) as wh:
            with wh.transaction() as tx:
                tx.execute("drop schema if exists raw_grid cascade")
            with TableLoad(wh, grid) as load:
                if how == "rows":
                    load.add_rows([dict(zip(names, row, strict=True)) for row in cells])
                else:
                    load.add_columns(names, [list(col) for col in zip(*cells, strict=True)])
            entry = load.entry
            raw = sorted(
                wh.query("select wgbm, wgmc, hs, update_time, extra_col, _row_hash from raw_grid.wg_grid")
            )
            landed.append(((entry.rows_read, entry.rows_landed, entry.rows_quarantined), raw))
    assert landed[0] == landed[1]
    assert landed[1][0] == (3, 2, 1)
