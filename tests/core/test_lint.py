"""Lint is part of the test command: ruff (with the project's rules, AIR among them, pyproject.toml) must find
nothing in the repo's Python and `ruff format` must have nothing to change, so a new finding fails CI like a
failing test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RUFF = Path(sys.executable).parent / "ruff"


def test_ruff_finds_nothing() -> None:
    out = subprocess.run(
        [str(RUFF), "check", "--no-cache", "--output-format", "concise", "."],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, f"ruff check:\n{out.stdout[-5000:]}{out.stderr[-2000:]}"


def test_ruff_format_would_change_nothing() -> None:
    out = subprocess.run(
        [str(RUFF), "format", "--check", "--no-cache", "."],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, (
        f"ruff format --check (run `ruff format .`):\n{out.stdout[-5000:]}{out.stderr[-2000:]}"
    )


def test_ruff_rules_include_airflow() -> None:
    """The AIR rules (Airflow 3 migrations, DAG hygiene) are selected, not only style."""
    import tomllib

    lint = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["ruff"]["lint"]
    assert "AIR" in lint["select"]


# sqlfluff (.sqlfluff at the repo root: dbt templater, house style, the rules turned off and why) over the dbt
# project's SQL. The dbt templater compiles each model as dbt does (macros, refs, vars), so a finding points
# at real SQL.
SQLFLUFF = Path(sys.executable).parent / "sqlfluff"
# macros are not linted alone (.sqlfluffignore says why); their SQL is rendered inside the models
SQL_DIRS = ("dbt_project/models", "dbt_project/tests", "dbt_project/analyses")

# TEMPORARY (issue 13): files other engineers were editing when the lint landed; the lead runs
# `sqlfluff fix` on them after those commits and then deletes this list (the test then lints everything).
PENDING_SQLFLUFF_FIX = (
    "dbt_project/models/intermediate/identity/places/",
    "dbt_project/models/identity/demands/matching/",
    "dbt_project/models/intermediate/identity/residents/int_residents_match_weights.sql",
    "dbt_project/models/intermediate/identity/residents/int_residents_records_matched.sql",
    "dbt_project/models/identity/places/",
    "dbt_project/models/identity/orgs/",
    "dbt_project/models/identity/demands/demand_xref.sql",
    "dbt_project/models/identity/demands/dim_demand.sql",
)


def sql_files() -> list[str]:
    out = []
    for d in SQL_DIRS:
        for p in sorted((REPO / d).rglob("*.sql")) if (REPO / d).is_dir() else []:
            rel = p.relative_to(REPO).as_posix()
            if not rel.startswith(PENDING_SQLFLUFF_FIX):
                out.append(rel)
    return out


@pytest.mark.skip(
    reason="issue 13, unfinished: 60 findings still to fix in the models (ST09 26, RF03 19, ST05 4, AM03 4, PRS 3, "
    "LT08/AL08/ST03/ST02 1 each) and the run costs ~7 min CPU here (both templaters); enable once fixed and cheap"
)
def test_sqlfluff_finds_nothing(tmp_path: Path) -> None:
    files = sql_files()
    assert len(files) > 50
    env = dict(
        os.environ,
        # the dbt templater compiles with the duckdb profile: a throwaway warehouse file, private target/logs
        YIWANG_DUCKDB_PATH=str(tmp_path / "lint.duckdb"),
        DBT_TARGET_PATH=str(tmp_path / "target"),
        DBT_LOG_PATH=str(tmp_path / "logs"),
    )
    env.setdefault("YIWANG_HMAC_KEY", "sqlfluff-lint-compiles-no-data")
    out = subprocess.run(
        [str(SQLFLUFF), "lint", "--processes", "2", "--disable-progress-bar", "--format", "human", *files],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, (
        f"sqlfluff lint (fix with `sqlfluff fix <file>`):\n{out.stdout[-8000:]}{out.stderr[-2000:]}"
    )
