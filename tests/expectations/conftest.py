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
        rows.append(
            {
                "rkid": f"RK{i:06d}",
                "xm": f"居民{i}",
                "sfzh": sfzh,
                "sjhm": "13800138000",
                "xb": "男",
                "csrq": "1980-01-01",
                "jzdz": "前进小区3栋2单元501",
                "wgbm": f"420106001001{i % 5 + 1:03d}",
                "jzlx": ["户籍", "流动", "寄住"][i % 3],
                "tsbq": "独居老人,低保" if i == 7 else None,
                "djsj": "2020-01-01 08:00:00",
                "sfsc": "1" if i == 9 else "0",
                "update_time": f"2026-10-{i % 28 + 1:02d} 08:00:00",
            }
        )
    return rows


def catalog_rows(gov: int = 132, life: int = 526) -> list[CatalogRow]:
    return [(f"XK{i:05d}001", "government", 20, 10, 1, None) for i in range(gov)] + [
        (f"FW{i:06d}", "life", None, None, None, i % 3) for i in range(life)
    ]


def grid_codes(syrk: list[dict[str, Any]]) -> list[str]:
    """The grids the clean residents live in (what raw_grid.wg_grid delivers in these tests)."""
    return sorted({f"420106001001{i % 5 + 1:03d}" for i in range(len(syrk))})


def write_warehouse(
    path: Path,
    syrk: list[dict[str, Any]] | None,
    catalog: list[CatalogRow] | None,
    grids: list[str] | None = None,
) -> None:
    """Raw residents (each row with its own _row_hash; batch "b1" unless the row names one), the grids they
    refer to (``grids``, default those of the clean rows; [] = an empty wg_grid) and the catalog mart."""
    con = duckdb.connect(str(path))
    try:
        if syrk is not None:
            cols = load_contract().table("grid", "wg_syrk").columns + ["_batch_id", "_row_hash"]
            con.execute("create schema if not exists raw_grid")
            con.execute(
                f"create or replace table raw_grid.wg_syrk ({', '.join(f'{c} varchar' for c in cols)},"
                " _loaded_at timestamp)"
            )
            defaults = {"_batch_id": "b1"}
            con.executemany(
                f"insert into raw_grid.wg_syrk ({', '.join(cols)}) values ({', '.join('?' * len(cols))})",
                [
                    [r.get(c, defaults.get(c, f"hash{i:04d}" if c == "_row_hash" else None)) for c in cols]
                    for i, r in enumerate(syrk)
                ],
            )
            gcols = load_contract().table("grid", "wg_grid").columns + ["_batch_id", "_row_hash"]
            con.execute(
                f"create or replace table raw_grid.wg_grid ({', '.join(f'{c} varchar' for c in gcols)},"
                " _loaded_at timestamp)"
            )
            for code in grid_codes(syrk) if grids is None else grids:
                con.execute(
                    "insert into raw_grid.wg_grid (wgbm, wgmc, sqbm, update_time, _batch_id, _row_hash) "
                    "values (?, ?, ?, '2026-10-01 08:00:00', 'g1', ?)",
                    [code, f"第{code[-1]}网格", code[:12], f"g{code}"],
                )
            con.execute("create schema if not exists raw_reference")
            con.execute(
                "create or replace table raw_reference.divisions (division_code varchar, name varchar, "
                "level varchar, parent_code varchar, _batch_id varchar, _row_hash varchar, "
                "_loaded_at timestamp)"
            )
            con.execute(
                "insert into raw_reference.divisions values ('420106001001', '前进社区', '社区', '', 'd1', "
                "'d1', null)"
            )
        if catalog is not None:
            con.execute("create schema if not exists mart_catalog")
            con.execute(
                "create or replace table mart_catalog.service_catalog (item_code varchar, item_kind varchar,"
                " statutory_limit_days integer, promised_limit_days integer, max_visits integer, site_count integer)"
            )
            con.executemany("insert into mart_catalog.service_catalog values (?, ?, ?, ?, ?, ?)", catalog)
    finally:
        con.close()


@pytest.fixture(scope="session")
def reader_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The raw gate's value readers compiled by dbt once per session (each test's home gets a copy)."""
    from expectations.run import reader_templates

    home = tmp_path_factory.mktemp("readers")
    reader_templates(
        load_settings({"YIWANG_HOME": str(home), "YIWANG_WAREHOUSE_URL": f"duckdb:///{home / 'wh.duckdb'}"})
    )
    return home / "cache"


@pytest.fixture
def gx_settings(tmp_path: Path, reader_cache: Path) -> Settings:
    """Settings pointing at a throwaway home (warehouse + GX dir) under tmp_path."""
    import shutil

    home = tmp_path / "home"
    home.mkdir()
    shutil.copytree(reader_cache, home / "cache", ignore=shutil.ignore_patterns("dbt_compile"))
    return load_settings(
        {"YIWANG_HOME": str(home), "YIWANG_WAREHOUSE_URL": f"duckdb:///{home / 'wh.duckdb'}"}
    )


@pytest.fixture
def warehouse(gx_settings: Settings) -> Callable[..., Settings]:
    """Call with syrk=..., catalog=... to (re)write the warehouse; returns the settings."""

    def make(
        syrk: list[dict[str, Any]] | None = None,
        catalog: list[CatalogRow] | None = None,
        grids: list[str] | None = None,
    ) -> Settings:
        write_warehouse(gx_settings.duckdb_path, syrk, catalog, grids)
        return gx_settings

    return make


@pytest.fixture
def good_syrk() -> list[dict[str, Any]]:
    return syrk_rows()


@pytest.fixture
def good_catalog() -> list[CatalogRow]:
    return catalog_rows()
