"""The small demo city, built once per test session into a private YIWANG_HOME."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from pipeline_helper import build_marts_b, extract  # noqa: E402

SYSTEMS = ["party", "grid", "approval", "services", "property", "hotline"]


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """YIWANG_HOME holding the small demo city (seed 42) extracted into DuckDB, with the part-B marts
    and everything upstream of them built (not the whole project: other workstreams' models are not
    this folder's concern, and the marts land in their own schemas, not `mart_*__build`)."""
    home = tmp_path_factory.mktemp("marts_b_small")
    extract(home, SYSTEMS, simulate={"scale": "small", "seed": 42})
    build_marts_b(home)
    yield home


@pytest.fixture(scope="session")
def small_db(small_demo: Path):
    import duckdb

    conn = duckdb.connect(str(small_demo / "warehouse.duckdb"), read_only=True)
    yield conn
    conn.close()
