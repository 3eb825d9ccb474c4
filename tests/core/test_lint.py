"""Lint is part of the test command: ruff (with the project's rules, AIR among them, pyproject.toml) must find
nothing in the repo's Python and `ruff format` must have nothing to change, so a new finding fails CI like a
failing test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


# sqlfluff (.sqlfluff at the repo root: jinja templater with dbt's context from .sqlfluff_jinja/dbt_shim, house
# style, the rules turned off and why) over the dbt project's SQL. The shim renders each model as dbt would on
# DuckDB, without a dbt parse; the few macros that expand into long machine-made expressions render as plain
# calls (the shim says which and why), which keeps the lint within the test command's budget.
SQLFLUFF = Path(sys.executable).parent / "sqlfluff"
# macros are not linted alone (.sqlfluffignore says why); their SQL is rendered inside the models
SQL_DIRS = ("dbt_project/models", "dbt_project/tests", "dbt_project/analyses")
MAX_SQL_LINE = 160  # .sqlfluff max_line_length; LT05 is off there, this checks the source lines instead


def sql_files() -> list[str]:
    out = []
    for d in SQL_DIRS:
        for p in sorted((REPO / d).rglob("*.sql")) if (REPO / d).is_dir() else []:
            out.append(p.relative_to(REPO).as_posix())
    return out


def test_sql_lines_fit() -> None:
    long = [
        f"{f}:{i}: {len(line)} characters"
        for f in sql_files()
        for i, line in enumerate((REPO / f).read_text(encoding="utf-8").splitlines(), start=1)
        if len(line) > MAX_SQL_LINE
    ]
    assert not long, f"SQL lines longer than {MAX_SQL_LINE}:\n" + "\n".join(long)


def test_sqlfluff_finds_nothing() -> None:
    files = sql_files()
    assert len(files) > 90
    env = dict(os.environ)
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
