"""The committed generated files (t2s mapping, source YAML) match their generators."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "dbt_project" / "scripts"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"yiwang_dbt_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_t2s_map_is_current_and_keeps_exceptions() -> None:
    pytest.importorskip("opencc")
    gen = _load("gen_t2s")
    mapping = gen.load_mapping(gen._table_path())
    assert "於" not in mapping and "乾" not in mapping
    assert mapping["張"] == "张" and mapping["陳"] == "陈" and mapping["華"] == "华"
    assert gen.OUT.read_text(encoding="utf-8") == gen.render(mapping), "re-run dbt_project/scripts/gen_t2s.py"


def test_sources_cover_the_contract() -> None:
    import yaml

    gen = _load("gen_sources")
    contract = yaml.safe_load(gen.CONTRACT.read_text(encoding="utf-8"))
    systems = {"reference": contract["reference"]}
    systems.update({s: gen.tables_of(s, b) for s, b in contract["systems"].items()})
    for system, tables in systems.items():
        path = gen.MODELS / system / f"_{system}__sources.yml"
        source = yaml.safe_load(path.read_text(encoding="utf-8"))["sources"][0]
        assert source["schema"] == f"raw_{system}"
        assert source["config"]["loaded_at_field"] == "_loaded_at"
        by_name = {t["name"]: {c["name"] for c in t["columns"]} for t in source["tables"]}
        assert set(by_name) == set(tables), system
        for tname, t in tables.items():
            fields = t.get("fields") or t["headers"]
            missing = set(fields) - by_name[tname]
            assert not missing, (
                f"{system}.{tname} misses {missing}: re-run dbt_project/scripts/gen_sources.py"
            )
