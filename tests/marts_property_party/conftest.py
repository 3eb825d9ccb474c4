"""The property, party and demands mart tests read the session's shared small demo city (tests/conftest.py `small_demo`)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


@pytest.fixture(scope="module")
def small_db(small_demo) -> Iterator:
    """Read-only connection to the shared small city's warehouse (the main job built and published every
    mart into `mart_*`). Module-scoped: closed before a later test reruns the demo on that warehouse."""
    import duckdb

    conn = duckdb.connect(str(small_demo.warehouse), read_only=True)
    yield conn
    conn.close()
