from __future__ import annotations

from pathlib import Path

import pytest

from yiwang.contracts import load_contract
from yiwang.settings import SYSTEMS, ConfigError, expand, load_settings


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


def test_duckdb_memory_limit_and_spill_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DuckDB gets a memory ceiling (a third of the machine by default, or the configured size) and a spill
    directory, on the project's own connections and in the environment dbt's profile reads."""
    import psutil

    from yiwang.dbt_runner import dbt_env
    from yiwang.settings import get_settings
    from yiwang.warehouse import open_warehouse

    default = load_settings({"YIWANG_HOME": str(tmp_path)})
    assert default.duckdb_memory_limit == f"{max(1, psutil.virtual_memory().total // 3 // 2**30)}GB"
    assert default.duckdb_temp_dir == tmp_path / "tmp" / "duckdb"
    with pytest.raises(ConfigError, match="YIWANG_DUCKDB_MEMORY_LIMIT"):
        load_settings({"YIWANG_HOME": str(tmp_path), "YIWANG_DUCKDB_MEMORY_LIMIT": "lots"})
    monkeypatch.setenv("YIWANG_HOME", str(tmp_path))
    monkeypatch.setenv("YIWANG_DUCKDB_MEMORY_LIMIT", "512MB")
    monkeypatch.delenv("YIWANG_WAREHOUSE_URL", raising=False)
    get_settings.cache_clear()
    try:
        env = dbt_env()
        assert env["YIWANG_DUCKDB_MEMORY_LIMIT"] == "512MB"
        assert env["YIWANG_DUCKDB_TEMP_DIR"] == str(tmp_path / "tmp" / "duckdb")
        with open_warehouse() as wh:
            limit = wh.scalar("select current_setting('memory_limit')")
            spill = wh.scalar("select current_setting('temp_directory')")
        assert limit.replace(" ", "").upper().startswith(("488", "512")), limit  # DuckDB reports MiB
        assert spill == str(tmp_path / "tmp" / "duckdb")
    finally:
        get_settings.cache_clear()
