"""The metric reconciliation tests read the session's shared small demo city (tests/conftest.py `small_demo`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="module")
def wh(small_demo) -> Iterator:
    """Read-only DuckDB connection to the small city's warehouse (raw_* as landed, marts as published).
    Module-scoped: closed before a later test reruns the demo on that warehouse."""
    import duckdb

    conn = duckdb.connect(str(small_demo.warehouse), read_only=True)
    yield conn
    conn.close()
