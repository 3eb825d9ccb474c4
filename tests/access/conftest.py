"""The access suite builds a tiny city with the fault suite's kit (tests/faults/faultkit.py) on PostgreSQL only."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "faults"))

from faultkit import hub, tiny_city  # noqa: E402, F401 - pytest fixtures


@pytest.fixture
def warehouse_url(pg_url: str) -> str:
    """Department access is a PostgreSQL feature: a fresh PostgreSQL database (skips / fails as pg_url does)."""
    return pg_url
