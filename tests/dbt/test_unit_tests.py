"""Every dbt unit test of the project, on the small demo city's warehouse.

A pipeline's build leaves the unit tests out (``yiwang.dbt_runner.BUILD_ARGS``): they check each model's SQL on
hand-written rows, which is CI's job, not a nightly build's. This test is where they run. dbt needs the models a
unit test reads to exist (it takes their column types from the warehouse), so it runs them on a copy of the
small demo's warehouse, where every model was built.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ON = ["--vars", "{yiwang_restricted_marts: true}"]  # the restricted marts' unit tests too


def test_every_unit_test_passes_and_the_build_leaves_them_out(small_demo, run_dbt, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(small_demo.warehouse, warehouse)
    env = {"YIWANG_DUCKDB_PATH": str(warehouse), "YIWANG_DUCKDB_TEMP_DIR": str(tmp_path / "spill")}

    listed = run_dbt(
        ["ls", "--resource-type", "unit_test", "--output", "name", *ON], target="duckdb", env=env
    )
    assert listed.success, listed.exception
    expected = {str(n).rsplit(".", 1)[-1] for n in listed.result}
    assert len(expected) > 50, f"only {len(expected)} unit tests listed"

    result = run_dbt(["test", "--select", "test_type:unit", *ON], target="duckdb", env=env)
    ran = {r.node.name: str(r.status) for r in result.result.results if r.node.resource_type == "unit_test"}
    failed = {name: status for name, status in ran.items() if status != "pass"}
    assert result.success and not failed, f"unit tests failed: {failed or result.exception}"
    assert set(ran) == expected, f"not run: {sorted(expected - set(ran))}"

    # the demo's build (the README's main job, through Airflow) ran models and data tests but no unit test
    run_results = json.loads((small_demo.home / "dbt_target" / "run_results.json").read_text())
    kinds = {r["unique_id"].split(".", 1)[0] for r in run_results["results"]}
    assert {"model", "test"} <= kinds and "unit_test" not in kinds, kinds
