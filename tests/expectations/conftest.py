"""Fixtures for the GX gate tests: a small DuckDB warehouse with hand-made raw and mart rows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from yiwang.contracts import load_contract
from yiwang.settings import Settings, load_settings

# item_code, item_kind, statutory_limit_days, promised_limit_days, max_visits, site_count
CatalogRow = tuple[str, str, int | None, int | None, int | None, int | None]


def syrk_rows(n: int = 40) -> list[dict[str, Any]]:
    """Clean grid residents, with the contract's expected dirt in sfzh (a legacy 15-digit and a null)."""
    rows = []
    for i in range(n):
        sfzh: str | None = f"4201061980010{i:04d}" + ("X" if i % 2 else "7")
        if i == 3:
            sfzh = "420106800101123"  # legacy 15-digit form: still a valid shape
        if i == 4:
            sfzh = None
        rows.append({
            "rkid": f"RK{i:06d}", "xm": f"居民{i}", "sfzh": sfzh, "sjhm": "13800138000", "xb": "男",
            "csrq": "1980-01-01", "jzdz": "前进小区3栋2单元501", "wgbm": f"420106001001{i % 5 + 1:03d}",
            "jzlx": ["户籍", "流动", "寄住"][i % 3], "tsbq": "独居老人,低保" if i == 7 else None,
            "djsj": "2020-01-01 08:00:00", "sfsc": "1" if i == 9 else "0",
            "update_time": f"2026-10-{i % 28 + 1:02d} 08:00:00",
        })
    return rows


def catalog_rows(gov: int = 132, life: int = 526) -> list[CatalogRow]:
    return [(f"XK{i:05d}001", "government", 20, 10, 1, None) for i in range(gov)] + [
        (f"FW{i:06d}", "life", None, None, None, i % 3) for i in range(life)
    ]


def write_warehouse(path: Path, syrk: list[dict[str, Any]] | None, catalog: list[CatalogRow] | None) -> None:
    con = duckdb.connect(str(path))
    try:
        if syrk is not None:
            cols = load_contract().table("grid", "wg_syrk").columns + ["_batch_id", "_row_hash"]
            con.execute("create schema if not exists raw_grid")
            con.execute(f"create or replace table raw_grid.wg_syrk ({', '.join(f'{c} varchar' for c in cols)},"
                        " _loaded_at timestamp)")
            con.executemany(
                f"insert into raw_grid.wg_syrk ({', '.join(cols)}) values ({', '.join('?' * len(cols))})",
                [[r.get(c, "b1" if c == "_batch_id" else None) for c in cols] for r in syrk],
            )
        if catalog is not None:
            con.execute("create schema if not exists mart_catalog")
            con.execute("create or replace table mart_catalog.service_catalog (item_code varchar, item_kind varchar,"
                        " statutory_limit_days integer, promised_limit_days integer, max_visits integer, site_count integer)")
            con.executemany("insert into mart_catalog.service_catalog values (?, ?, ?, ?, ?, ?)", catalog)
    finally:
        con.close()


@pytest.fixture
def gx_settings(tmp_path: Path) -> Settings:
    """Settings pointing at a throwaway home (warehouse + GX dir) under tmp_path."""
    home = tmp_path / "home"
    home.mkdir()
    return load_settings({"YIWANG_HOME": str(home), "YIWANG_WAREHOUSE_URL": f"duckdb:///{home / 'wh.duckdb'}"})


@pytest.fixture
def warehouse(gx_settings: Settings) -> Callable[..., Settings]:
    """Call with syrk=..., catalog=... to (re)write the warehouse; returns the settings."""

    def make(syrk: list[dict[str, Any]] | None = None, catalog: list[CatalogRow] | None = None) -> Settings:
        write_warehouse(gx_settings.duckdb_path, syrk, catalog)
        return gx_settings

    return make


@pytest.fixture
def good_syrk() -> list[dict[str, Any]]:
    return syrk_rows()


@pytest.fixture
def good_catalog() -> list[CatalogRow]:
    return catalog_rows()
