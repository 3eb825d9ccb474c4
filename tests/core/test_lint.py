"""Lint is part of the test command: ruff (with the project's rules, AIR among them, pyproject.toml) must find
nothing in the repo's Python and `ruff format` must have nothing to change, so a new finding fails CI like a
failing test."""

from __future__ import annotations

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
