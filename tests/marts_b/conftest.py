"""The small demo city, built once per test session into a private YIWANG_HOME."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from pipeline_helper import REPO, base_env  # noqa: E402


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """YIWANG_HOME holding the small demo (simulate, extract, full dbt build) on DuckDB."""
    home = tmp_path_factory.mktemp("marts_b_small")
    out = subprocess.run([str(Path(sys.executable).parent / "yiwang"), "demo", "--no-airflow", "--scale", "small"],
                         env=base_env(home), cwd=REPO, capture_output=True, text=True, timeout=900)
    assert (home / "warehouse.duckdb").exists(), out.stdout[-3000:] + out.stderr[-3000:]
    yield home


@pytest.fixture(scope="session")
def small_db(small_demo: Path):
    import duckdb

    conn = duckdb.connect(str(small_demo / "warehouse.duckdb"), read_only=True)
    yield conn
    conn.close()
