"""Reads the project's source contract (yiwang/contracts/source_systems.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

CONTRACT_PATH = Path(__file__).resolve().parents[1] / "yiwang" / "contracts" / "source_systems.yaml"


@dataclass(frozen=True)
class TableSpec:
    """One contract table / resource / file with its fields in contract order."""

    system: str
    name: str
    key: tuple[str, ...]
    cursor: str | None
    fields: dict[str, dict[str, Any]]
    headers: dict[str, list[str]] = field(default_factory=dict)
    values: dict[str, list[str]] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return list(self.fields) if self.fields else list(self.headers)


@lru_cache(maxsize=1)
def load_raw() -> dict[str, Any]:
    with CONTRACT_PATH.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@lru_cache(maxsize=1)
def tables() -> dict[tuple[str, str], TableSpec]:
    """All contract tables keyed by (system, table)."""
    raw = load_raw()
    out: dict[tuple[str, str], TableSpec] = {}
    for system, spec in raw["systems"].items():
        groups = spec.get("tables") or spec.get("resources") or spec.get("files") or spec.get("records")
        for name, tspec in groups.items():
            key = tspec["key"]
            keys = tuple(key) if isinstance(key, list) else (key,)
            out[(system, name)] = TableSpec(
                system=system,
                name=name,
                key=keys,
                cursor=tspec.get("cursor"),
                fields=tspec.get("fields") or {},
                headers=tspec.get("headers") or {},
                values=tspec.get("values") or {},
            )
    return out


def table(system: str, name: str) -> TableSpec:
    return tables()[(system, name)]


def reference_fields() -> dict[str, list[str]]:
    return {name: spec["fields"] for name, spec in load_raw()["reference"].items()}


def field_values(system: str, name: str, fld: str) -> list:
    """The contract's value list of a field (empty when it has none)."""
    spec = table(system, name)
    if spec.fields:
        return list(spec.fields[fld].get("values", []))
    return list(spec.values.get(fld, []))
