"""Issue 11 (period marts): `yiwang build --as-of DATE` reaches dbt as the var `as_of`; a malformed date is
refused by the CLI and by the dbt macro (tests/marts_catalog_governance/test_period_marts.py builds a city with it)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from click.testing import CliRunner

from yiwang import cli


def test_build_as_of_passes_the_date_to_build_and_publish(monkeypatch: pytest.MonkeyPatch) -> None:
    import yiwang.publish

    seen: dict[str, Any] = {}

    def fake_build_and_publish(**kwargs: Any) -> None:
        seen.update(kwargs)

    monkeypatch.setattr(yiwang.publish, "build_and_publish", fake_build_and_publish)
    result = CliRunner().invoke(cli.main, ["build", "--as-of", "2024-06-30"])
    assert result.exit_code == 0, result.output
    assert seen["as_of"] == dt.date(2024, 6, 30)

    seen.clear()
    result = CliRunner().invoke(cli.main, ["build"])
    assert result.exit_code == 0, result.output
    assert seen["as_of"] is None


def test_build_as_of_refuses_a_malformed_date() -> None:
    result = CliRunner().invoke(cli.main, ["build", "--as-of", "30/06/2024"])
    assert result.exit_code == 2
    assert "--as-of" in result.output


def test_run_dbt_hands_vars_to_dbt(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # noqa: ANN001
    import dbt.cli.main

    from yiwang import dbt_runner
    from yiwang.settings import load_settings

    invoked: list[list[str]] = []

    class FakeRunner:
        def invoke(self, args: list[str]) -> Any:
            invoked.append(args)
            return type("R", (), {"success": True, "exception": None, "result": None})()

    monkeypatch.setattr(dbt.cli.main, "dbtRunner", FakeRunner)
    settings = load_settings({"YIWANG_HOME": str(tmp_path)})
    dbt_runner.run_dbt(["build"], settings=settings, dbt_vars={"as_of": "2024-06-30"})
    dbt_runner.run_dbt(["build"], settings=settings)
    with_vars, without = invoked
    assert json.loads(with_vars[with_vars.index("--vars") + 1]) == {"as_of": "2024-06-30"}
    assert "--vars" not in without


def test_dbt_refuses_an_as_of_that_is_not_a_date(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """The macro as_of_var() checks the var: nothing but YYYY-MM-DD reaches SQL."""
    from yiwang.dbt_runner import DbtRunError, run_dbt
    from yiwang.settings import load_settings

    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))
    settings = load_settings({"YIWANG_HOME": str(tmp_path)})
    args = ["compile", "--select", "int_as_of_date", "--no-introspect"]
    run_dbt(args, settings=settings, dbt_vars={"as_of": "2024-06-30"})
    compiled = next((tmp_path / "target").rglob("int_as_of_date.sql")).read_text(encoding="utf-8")
    assert "cast('2024-06-30' as date)" in compiled
    with pytest.raises(DbtRunError, match="int_as_of_date"):
        run_dbt(args, settings=settings, dbt_vars={"as_of": "2024-06-30'; drop table x; --"})
