"""Every mart states its grain and is tested unique on exactly that grain (issue 11, "Grain and reconciliation").

A model under dbt_project/models/marts/ (or an identity output under models/identity/) must declare `config:
{meta: {grain: [col, ...]}}` (documented columns), say so in its description ("Grain: one row per ... (col,
...)"), and carry a uniqueness test on exactly those columns: the project's generic
`unique_combination(columns=[...])` (macros/marts_generic_tests.sql; dbt_utils is not a dependency), or dbt's
`unique` when the grain is one column. The identity models that already have a uniqueness test of their own
(on a concatenated source key, or their key column) are exempt.

Reads the manifest of a `dbt parse` with the restricted marts switched on, so a mart that is off by default
(mart_residents) is checked too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DBT_PROJECT = REPO / "dbt_project"
IDENTITY_FOLDERS = ("models/identity/",)
# the identity layer's matching work: not an output, no grain rule
IDENTITY_WORK_FOLDERS = ("models/identity/demands/matching/",)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from dbt.cli.main import dbtRunner

    tmp = tmp_path_factory.mktemp("grain_parse")
    res = dbtRunner().invoke(
        [
            "parse",
            "--project-dir",
            str(DBT_PROJECT),
            "--profiles-dir",
            str(DBT_PROJECT),
            "--target-path",
            str(tmp / "target"),
            "--log-path",
            str(tmp / "logs"),
            "--vars",
            "{yiwang_restricted_marts: true, yiwang_identity_marts: true}",
        ]
    )
    assert res.success, res.exception
    return json.loads((tmp / "target" / "manifest.json").read_text(encoding="utf-8"))


def _marts(manifest: dict) -> dict[str, dict]:
    nodes = list(manifest["nodes"].values()) + [n for ns in manifest.get("disabled", {}).values() for n in ns]
    return {
        n["unique_id"]: n
        for n in nodes
        if n["resource_type"] == "model"
        and n["original_file_path"].startswith(("models/marts/", *IDENTITY_FOLDERS))
        and not n["original_file_path"].startswith(IDENTITY_WORK_FOLDERS)
    }


def _uniqueness_tests(manifest: dict) -> dict[str, list[tuple[str, ...]]]:
    """model unique_id -> the column tuples it is tested unique on (expressions kept as one string)."""
    out: dict[str, list[tuple[str, ...]]] = {}
    for n in manifest["nodes"].values():
        meta = n.get("test_metadata") if n["resource_type"] == "test" else None
        if not meta or (n.get("config") or {}).get("severity", "error").lower() != "error":
            continue
        kwargs = meta.get("kwargs") or {}
        if meta["name"] == "unique":
            cols: tuple[str, ...] = (str(kwargs.get("column_name")),)
        elif meta["name"] == "unique_combination":
            cols = tuple(str(c) for c in kwargs.get("columns") or ())
        else:
            continue
        model = n.get("attached_node") or next(iter(n["depends_on"]["nodes"]), None)
        out.setdefault(model, []).append(cols)
    return out


def test_every_mart_declares_its_grain_and_is_tested_unique_on_it(manifest: dict) -> None:
    marts = _marts(manifest)
    assert len(marts) >= 30, sorted(marts)
    tests = _uniqueness_tests(manifest)
    problems: list[str] = []
    exempt: list[str] = []
    for uid, node in sorted(marts.items()):
        name = node["name"]
        grain = (node.get("config", {}).get("meta") or {}).get("grain") or (node.get("meta") or {}).get(
            "grain"
        )
        if grain is None and node["original_file_path"].startswith(IDENTITY_FOLDERS) and tests.get(uid):
            exempt.append(name)
            continue
        if not grain or not isinstance(grain, list) or not all(isinstance(c, str) and c for c in grain):
            problems.append(f"{name}: no config.meta.grain (a list of columns)")
            continue
        if len(set(grain)) != len(grain):
            problems.append(f"{name}: grain {grain} repeats a column")
        undocumented = [c for c in grain if c not in node["columns"]]
        if undocumented:
            problems.append(f"{name}: grain columns {undocumented} are not documented columns")
        description = node.get("description") or ""
        if "grain" not in description.lower() or any(c not in description for c in grain):
            problems.append(
                f"{name}: the description does not state the grain ('Grain: ... ({', '.join(grain)})')"
            )
        if not any(sorted(cols) == sorted(grain) for cols in tests.get(uid, [])):
            problems.append(
                f"{name}: no unique / unique_combination test on exactly {grain} (has {tests.get(uid, [])})"
            )
    assert not problems, "\n".join(problems)
    # the exemption is for identity models with a uniqueness test of their own, nothing else
    assert all(
        marts[u]["original_file_path"].startswith(IDENTITY_FOLDERS)
        for u in marts
        if marts[u]["name"] in exempt
    )
