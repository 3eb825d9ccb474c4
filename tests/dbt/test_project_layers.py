"""The dbt project's layer rules, read from dbt's manifest.json after `dbt parse` (no warehouse needed).

These are the core rules of dbt-project-evaluator (a dbt hub package; there is no PyPI form and the hub is not
reachable from the machines that run this suite), written for this project:

- sources are read only by staging models (evaluator: fct_direct_join_to_source / fct_source_fanout);
- staging models read only sources and seeds (fct_staging_dependent_on_staging);
- no model reads a model of a layer above its own: staging < intermediate < identity < marts, so
  intermediate never reads marts (fct_rejoining_of_upstream_concepts / fct_model_fanout family);
- marts never read staging, they read intermediate and identity models (fct_marts_or_intermediate_dependent_on_source);
- every model under models/marts and every identity output (models/identity, not its matching work) has a
  description and a unique test (fct_undocumented_models, fct_missing_primary_key_tests).

Exceptions, each with its reason, would live in project_layers_exceptions.yml beside this file (the evaluator's
exceptions seed; empty today); an exception that is no longer a violation fails too, so the list only shrinks.

Also here: dbt_project.yml's default freshness thresholds mirror sources.yaml, their one owner.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DBT_PROJECT = REPO / "dbt_project"
EXCEPTIONS = HERE / "project_layers_exceptions.yml"

RANK = {"staging": 1, "intermediate": 2, "identity": 3, "marts": 4}
# the identity layer's matching work (not an output: no unique-test rule); everything else under models/identity
# is one row per resolved thing or an xref
IDENTITY_WORK_FOLDERS = ("models/identity/demands/matching/",)
UNIQUE_TESTS = {"unique", "unique_combination"}


def layer(node: dict[str, Any]) -> str:
    path = node["original_file_path"]
    for name in RANK:
        if path.startswith(f"models/{name}/"):
            return name
    raise AssertionError(
        f"{node['unique_id']}: {path} is in no layer folder (models/staging|intermediate|identity|marts)"
    )


def is_output(node: dict[str, Any]) -> bool:
    """A mart or an identity output: what the description / unique-test rule covers."""
    path = node["original_file_path"]
    return layer(node) in ("identity", "marts") and not path.startswith(IDENTITY_WORK_FOLDERS)


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    target = tmp_path_factory.mktemp("layers_target")
    env = dict(
        os.environ,
        YIWANG_DUCKDB_PATH=str(
            target / "parse.duckdb"
        ),  # parse opens no connection; the profile needs a path
        DBT_TARGET_PATH=str(target),
        DBT_LOG_PATH=str(target / "logs"),
    )
    out = subprocess.run(
        [sys.executable, "-c", "from dbt.cli.main import cli; cli()", "parse", "--no-partial-parse"]
        + ["--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT), "--target", "duckdb"]
        + ["--vars", json.dumps({"yiwang_restricted_marts": True, "yiwang_identity_marts": True})],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, f"dbt parse failed:\n{out.stdout[-4000:]}{out.stderr[-2000:]}"
    return json.loads((target / "manifest.json").read_text(encoding="utf-8"))


def violations(manifest: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(rule, model, what it reads) for every read against the layer rules."""
    nodes = manifest["nodes"]
    found: set[tuple[str, str, str]] = set()
    for node in nodes.values():
        if node["resource_type"] != "model":
            continue
        own = layer(node)
        for dep in node["depends_on"]["nodes"]:
            if dep.startswith("source."):
                if own != "staging":
                    found.add(("source_outside_staging", node["name"], dep.split(".", 2)[2]))
                continue
            upstream = nodes.get(dep)
            if upstream is None or upstream["resource_type"] != "model":
                continue  # seeds may be read by any layer
            theirs = layer(upstream)
            if own == "staging":
                found.add(("staging_reads_model", node["name"], upstream["name"]))
            elif RANK[theirs] > RANK[own]:
                found.add(("reads_layer_above", node["name"], upstream["name"]))
            elif node["original_file_path"].startswith("models/marts/") and theirs == "staging":
                found.add(("marts_read_staging", node["name"], upstream["name"]))
    return found


def listed_exceptions() -> set[tuple[str, str, str]]:
    doc = yaml.safe_load(EXCEPTIONS.read_text(encoding="utf-8"))
    out: set[tuple[str, str, str]] = set()
    for entry in doc["exceptions"]:
        assert str(entry.get("reason") or "").strip(), f"exception without a reason: {entry}"
        for read in entry["reads"]:
            out.add((entry["rule"], entry["model"], read))
    return out


def test_layer_rules_hold_except_the_listed_exceptions(manifest: dict[str, Any]) -> None:
    found = violations(manifest)
    listed = listed_exceptions()
    new = sorted(found - listed)
    stale = sorted(listed - found)
    assert not new, (
        "layer rule broken (fix the model, or list it with a reason in project_layers_exceptions.yml):\n"
        + ("\n".join(f"  {rule}: {model} reads {dep}" for rule, model, dep in new))
    )
    assert not stale, (
        "listed exceptions that no longer happen (remove them from project_layers_exceptions.yml):\n"
        + ("\n".join(f"  {rule}: {model} reads {dep}" for rule, model, dep in stale))
    )


def test_sources_are_read_only_by_staging(manifest: dict[str, Any]) -> None:
    """No exception is allowed for this one."""
    assert not {v for v in violations(manifest) if v[0] == "source_outside_staging"}


def test_layer_of_a_path() -> None:
    """The rules stand on this mapping; a model outside the layer folders is an error, not a pass."""
    assert layer({"original_file_path": "models/staging/grid/stg_grid__events.sql"}) == "staging"
    assert layer({"original_file_path": "models/intermediate/identity/orgs/x.sql"}) == "intermediate"
    assert layer({"original_file_path": "models/identity/places/grid_xref.sql"}) == "identity"
    assert (
        layer({"original_file_path": "models/identity/demands/matching/int_demand_reports.sql"}) == "identity"
    )
    assert is_output({"original_file_path": "models/identity/places/grid_xref.sql"})
    assert not is_output({"original_file_path": "models/identity/demands/matching/int_demand_reports.sql"})
    assert not is_output({"original_file_path": "models/intermediate/identity/places/int_grids.sql"})
    assert layer({"original_file_path": "models/marts/party/party_grid_coverage.sql"}) == "marts"
    with pytest.raises(AssertionError):
        layer({"unique_id": "model.yiwang.x", "original_file_path": "models/x.sql"})


def test_every_mart_has_a_description_and_a_unique_test(manifest: dict[str, Any]) -> None:
    nodes = manifest["nodes"]
    unique_tested: set[str] = set()
    for node in nodes.values():
        if node["resource_type"] == "test" and (node.get("test_metadata") or {}).get("name") in UNIQUE_TESTS:
            unique_tested.update(node["depends_on"]["nodes"])
    marts = [n for n in nodes.values() if n["resource_type"] == "model" and is_output(n)]
    assert len(marts) > 30
    undocumented = sorted(n["name"] for n in marts if not (n.get("description") or "").strip())
    untested = sorted(n["name"] for n in marts if n["unique_id"] not in unique_tested)
    assert not undocumented, f"marts without a description: {undocumented}"
    assert not untested, f"marts without a unique / unique_combination test (their grain): {untested}"


def test_freshness_defaults_mirror_sources_yaml(tmp_path: Path) -> None:
    """sources.yaml owns the thresholds (yiwang.freshness passes them as dbt vars on every run); the defaults in
    dbt_project.yml, used by a bare `dbt source freshness`, must say the same."""
    from yiwang.freshness import freshness_vars
    from yiwang.settings import load_settings

    env = {k: v for k, v in os.environ.items() if k != "YIWANG_SOURCES"}  # the repo's own sources.yaml
    env.setdefault("YIWANG_HOME", str(tmp_path))  # only expands paths; nothing is read from it
    wanted = freshness_vars(load_settings(env))
    defaults = yaml.safe_load((DBT_PROJECT / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]
    assert len(wanted) == 12
    assert {k: float(defaults[k]) for k in wanted} == {k: float(v) for k, v in wanted.items()}
