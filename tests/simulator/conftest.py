"""Shared fixtures: one small generated output per session (dirty and clean)."""

from __future__ import annotations

from pathlib import Path

import pytest

import simulator

SEED = 42


@pytest.fixture(scope="session")
def small_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sim_small")
    manifest = simulator.generate(out, scale="small", seed=SEED, dirt_rate=0.05)
    return out, manifest


@pytest.fixture(scope="session")
def clean_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("sim_clean")
    manifest = simulator.generate(out, scale="tiny", seed=7, dirt_rate=0.0)
    return out, manifest


@pytest.fixture(scope="session")
def api_server(small_out):
    from simulator.http_api import serve_in_thread

    out, _ = small_out
    handle = serve_in_thread(out, approval_token="tok", services_api_key="key")
    yield handle
    handle.stop()
