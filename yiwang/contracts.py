"""The project's own reading of the source-system contract (yiwang/contracts/source_systems.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    nullable: bool = False
    values: tuple[Any, ...] | None = None
    sensitive: bool = False


@dataclass(frozen=True)
class Table:
    """One contract table, API resource, file kind or record kind."""

    system: str
    name: str
    key: tuple[str, ...]
    cursor: str | None
    fields: tuple[Field, ...]
    soft_delete: str | None = None
    headers: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def raw_table(self) -> str:
        return f"raw_{self.system}.{self.name}"


@dataclass(frozen=True)
class System:
    name: str
    name_zh: str
    delivery: dict[str, Any]
    tables: dict[str, Table]

    @property
    def kind(self) -> str:
        return self.delivery["kind"]


@dataclass(frozen=True)
class Contract:
    systems: dict[str, System]
    reference: dict[str, Table]

    def table(self, system: str, name: str) -> Table:
        if system == "reference":
            return self.reference[name]
        return self.systems[system].tables[name]

    def all_tables(self) -> list[Table]:
        return [t for s in self.systems.values() for t in s.tables.values()]


def _fields(spec: dict[str, Any]) -> tuple[Field, ...]:
    out = []
    for name, f in (spec or {}).items():
        f = f or {}
        vals = f.get("values")
        out.append(
            Field(
                name=name,
                type=str(f.get("type", "string")),
                nullable=bool(f.get("nullable", False)),
                values=tuple(vals) if isinstance(vals, list) else None,
                sensitive=bool(f.get("sensitive", False)),
            )
        )
    return tuple(out)


def _key(k: Any) -> tuple[str, ...]:
    return tuple(k) if isinstance(k, list) else (str(k),)


def parse_contract(doc: dict[str, Any]) -> Contract:
    systems: dict[str, System] = {}
    for sname, s in doc["systems"].items():
        tables: dict[str, Table] = {}
        body = s.get("tables") or s.get("resources") or s.get("files") or s.get("records") or {}
        for tname, t in body.items():
            headers = {k: tuple(v) for k, v in (t.get("headers") or {}).items()}
            fields = _fields(t["fields"]) if "fields" in t else tuple(Field(h, "string") for h in headers)
            if "values" in t and headers:  # files list value sets apart from headers
                vals = t["values"]
                fields = tuple(
                    Field(f.name, f.type, f.nullable, tuple(vals[f.name]) if f.name in vals else None)
                    for f in fields
                )
            tables[tname] = Table(
                system=sname,
                name=tname,
                key=_key(t["key"]),
                cursor=t.get("cursor"),
                fields=fields,
                soft_delete=t.get("soft_delete"),
                headers=headers,
            )
        systems[sname] = System(sname, s.get("name_zh", sname), s["delivery"], tables)
    reference: dict[str, Table] = {}
    for rname, r in (doc.get("reference") or {}).items():
        reference[rname] = Table(
            system="reference",
            name=rname,
            key=_key(r["key"]),
            cursor=None,
            fields=tuple(Field(f, "string") for f in r["fields"]),
        )
    return Contract(systems, reference)


@cache
def load_contract() -> Contract:
    text = resources.files("yiwang").joinpath("contracts/source_systems.yaml").read_text(encoding="utf-8")
    return parse_contract(yaml.safe_load(text))
