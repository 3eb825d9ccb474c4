"""Run simulate -> extract -> dbt build for the injected-effects test (test_injected_effects.py) in a subprocess with a private environment
(the other tests here read the session's shared small city, tests/conftest.py).

Every path is private to the test (YIWANG_HOME, dbt target and log paths), so tests never touch
dbt_project/target or var/ and can run next to other engineers' builds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DBT_PROJECT = REPO / "dbt_project"

_SCRIPT = r"""
import json, os, sys
from pathlib import Path
cfg = json.loads(sys.argv[1])
home = Path(os.environ["YIWANG_HOME"])
if cfg.get("simulate"):
    import simulator
    simulator.generate(home / "sources", **cfg["simulate"])
server = None
if {"approval", "services"} & set(cfg["systems"]):
    from simulator import http_api
    server = http_api.serve_in_thread(home / "sources", approval_token=os.environ["YIWANG_APPROVAL_TOKEN"],
                                      services_api_key=os.environ["YIWANG_SERVICES_API_KEY"])
    os.environ["YIWANG_APPROVAL_URL"] = f"{server.url}/approval"
    os.environ["YIWANG_SERVICES_URL"] = f"{server.url}/services"
from connectors import run
try:
    run.extract_reference()
    for system in cfg["systems"]:
        run.extract_system(system)
finally:
    if server:
        server.stop()
"""


def base_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        YIWANG_HOME=str(home),
        DBT_TARGET_PATH=str(home / "dbt_target"),
        DBT_LOG_PATH=str(home / "dbt_logs"),
        YIWANG_APPROVAL_TOKEN=env.get("YIWANG_APPROVAL_TOKEN") or "injected-effects-approval-token",
        YIWANG_SERVICES_API_KEY=env.get("YIWANG_SERVICES_API_KEY") or "injected-effects-services-key",
        YIWANG_HMAC_KEY=env.get("YIWANG_HMAC_KEY") or "yiwang-test-key",
        YIWANG_DUCKDB_PATH=str(home / "warehouse.duckdb"),
    )
    for k in (
        "YIWANG_WAREHOUSE_URL",
        "YIWANG_APPROVAL_URL",
        "YIWANG_SERVICES_URL",
        "YIWANG_BUILD_SCHEMA_SUFFIX",
    ):
        env.pop(k, None)
    return env


def extract(home: Path, systems: list[str], *, simulate: dict | None = None) -> None:
    """(Optionally simulate, then) extract reference + `systems` into the warehouse."""
    cfg = {"systems": systems, "simulate": simulate}
    subprocess.run(
        [sys.executable, "-c", _SCRIPT, json.dumps(cfg)],
        env=base_env(home),
        check=True,
        cwd=REPO,
        timeout=900,
    )


def dbt(home: Path, args: list[str], *, target: str = "duckdb") -> subprocess.CompletedProcess:
    e = base_env(home)
    cmd = [
        str(Path(sys.executable).parent / "dbt"),
        *args,
        "--project-dir",
        str(DBT_PROJECT),
        "--profiles-dir",
        str(DBT_PROJECT),
        "--target",
        target,
    ]
    out = subprocess.run(cmd, env=e, cwd=REPO, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        tail = "\n".join(out.stdout.splitlines()[-60:])
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{tail}")
    return out
