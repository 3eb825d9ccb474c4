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
