from __future__ import annotations

import os
from pathlib import Path

import pytest

from yiwang.contracts import load_contract
from yiwang.settings import DUCKDB_SHARE, SYSTEMS, ConfigError, expand, load_settings, memory_budget


def test_expand_defaults_and_nesting() -> None:
    env = {"HOME_X": "/h"}
    assert expand("${A:-${HOME_X}/s}", env) == "/h/s"
    assert expand("${HOME_X}", env) == "/h"
    with pytest.raises(ConfigError, match="NOPE"):
        expand("${NOPE}", env)


def test_default_sources_cover_every_contract_system(tmp_path: Path) -> None:
    s = load_settings({"YIWANG_HOME": str(tmp_path)})
    assert set(s.sources) == set(SYSTEMS) == set(load_contract().systems)
    assert s.warehouse_url == f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    assert s.source("grid").url == f"sqlite:///{tmp_path}/sources/grid.sqlite"
    assert s.source("approval").credential_env == "YIWANG_APPROVAL_TOKEN"
    for system, cfg in s.sources.items():
        assert cfg.kind == load_contract().systems[system].kind


def test_missing_credential_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YIWANG_APPROVAL_TOKEN", raising=False)
    s = load_settings({"YIWANG_HOME": str(tmp_path)})
    with pytest.raises(ConfigError, match="YIWANG_APPROVAL_TOKEN"):
        s.source("approval").credential()


def test_contract_tables_and_keys() -> None:
    c = load_contract()
    assert len(c.all_tables()) == 20
    assert c.table("property", "owners").key == ("xqmc", "ld", "dy", "fh")
    assert c.table("grid", "wg_syrk").soft_delete == "sfsc"
    assert "zt" in c.table("grid", "wg_sj").columns


def test_memory_budget_sizes_and_default() -> None:
    """The per-process budget: a size as DuckDB reads it (GB = 10^9, GiB = 2^30), else half the machine's
    memory capped at 4 GiB; nonsense is a ConfigError naming the variable."""
    gib = 2**30
    assert memory_budget("4GiB") == 4 * gib
    assert memory_budget("3GB") == 3 * 10**9
    assert memory_budget(" 512 MiB ") == 512 * 2**20
    assert memory_budget("1.5GiB") == int(1.5 * gib)
    assert memory_budget(None, total=24 * gib) == 4 * gib  # a big machine: capped
    assert memory_budget("", total=6 * gib) == 3 * gib  # a small one: half of it
    for bad in ("lots", "4", "-1GB", "4 GiBs"):
        with pytest.raises(ConfigError, match="YIWANG_MEMORY_BUDGET"):
            memory_budget(bad)


def test_duckdb_limit_follows_the_budget(tmp_path: Path) -> None:
    """With no explicit memory_limit DuckDB gets its share of the budget, so the whole process stays within
    it; an explicit YIWANG_DUCKDB_MEMORY_LIMIT wins; threads default to the machine's cores."""
    s = load_settings({"YIWANG_HOME": str(tmp_path), "YIWANG_MEMORY_BUDGET": "4GiB"})
    assert s.memory_budget == 4 * 2**30
    assert s.duckdb_memory_limit == f"{int(4 * 2**30 * DUCKDB_SHARE) // 2**20}MiB" == "2560MiB"
    assert s.duckdb_threads == (os.cpu_count() or 1)
    s = load_settings({"YIWANG_HOME": str(tmp_path), "YIWANG_MEMORY_BUDGET": "1GiB"})
    assert s.duckdb_memory_limit == "640MiB"
    s = load_settings(
        {"YIWANG_HOME": str(tmp_path), "YIWANG_DUCKDB_MEMORY_LIMIT": "6GB", "YIWANG_DUCKDB_THREADS": "1"}
    )
    assert (s.duckdb_memory_limit, s.duckdb_threads) == ("6GB", 1)
    for bad in ("0", "two", "-1"):
        with pytest.raises(ConfigError, match="YIWANG_DUCKDB_THREADS"):
            load_settings({"YIWANG_HOME": str(tmp_path), "YIWANG_DUCKDB_THREADS": bad})


def test_duckdb_memory_limit_and_spill_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DuckDB gets a memory ceiling (its share of the memory budget by default, or the configured size), a
    spill directory and a thread count, on the project's own connections and in the environment dbt's
    profile reads."""
    from yiwang.dbt_runner import dbt_env
    from yiwang.settings import get_settings
    from yiwang.warehouse import open_warehouse

    default = load_settings({"YIWANG_HOME": str(tmp_path)})
    assert default.duckdb_memory_limit == f"{int(memory_budget(None) * DUCKDB_SHARE) // 2**20}MiB"
    assert default.duckdb_temp_dir == tmp_path / "tmp" / "duckdb"
    with pytest.raises(ConfigError, match="YIWANG_DUCKDB_MEMORY_LIMIT"):
        load_settings({"YIWANG_HOME": str(tmp_path), "YIWANG_DUCKDB_MEMORY_LIMIT": "lots"})
    monkeypatch.setenv("YIWANG_HOME", str(tmp_path))
    monkeypatch.setenv("YIWANG_DUCKDB_MEMORY_LIMIT", "512MB")
    monkeypatch.setenv("YIWANG_DUCKDB_THREADS", "1")
    monkeypatch.delenv("YIWANG_WAREHOUSE_URL", raising=False)
    get_settings.cache_clear()
    try:
        env = dbt_env()
        assert env["YIWANG_DUCKDB_MEMORY_LIMIT"] == "512MB"
        assert env["YIWANG_DUCKDB_TEMP_DIR"] == str(tmp_path / "tmp" / "duckdb")
        assert env["YIWANG_DUCKDB_THREADS"] == "1"
        with open_warehouse() as wh:
            limit = wh.scalar("select current_setting('memory_limit')")
            spill = wh.scalar("select current_setting('temp_directory')")
            threads = wh.scalar("select current_setting('threads')")
        assert limit.replace(" ", "").upper().startswith(("488", "512")), limit  # DuckDB reports MiB
        assert spill == str(tmp_path / "tmp" / "duckdb")
        assert int(threads) == 1
    finally:
        get_settings.cache_clear()


def test_a_second_connection_after_a_spill(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once a query spilled, DuckDB refuses to set temp_directory again, even to the same place: a second
    connection to the warehouse in the same process (the same database instance) still opens."""
    from yiwang.settings import get_settings
    from yiwang.warehouse import open_warehouse

    monkeypatch.setenv("YIWANG_HOME", str(tmp_path))
    monkeypatch.setenv("YIWANG_DUCKDB_MEMORY_LIMIT", "64MB")
    monkeypatch.setenv("YIWANG_DUCKDB_THREADS", "1")
    monkeypatch.delenv("YIWANG_WAREHOUSE_URL", raising=False)
    get_settings.cache_clear()
    spill = tmp_path / "tmp" / "duckdb"
    try:
        with open_warehouse() as first:
            with first.transaction() as tx:
                tx.execute(
                    "create table x as select i, md5(cast(i as varchar)) as s from range(2000000) r(i)"
                )
                tx.execute("create table y as select * from x order by s")  # past 64 MB: spills
                assert any(spill.iterdir()), "the sort did not spill"
            with open_warehouse() as second:  # while the first is open: the same database instance
                assert second.scalar("select count(*) from y") == 2_000_000
                assert second.scalar("select current_setting('temp_directory')") == str(spill)
    finally:
        get_settings.cache_clear()
