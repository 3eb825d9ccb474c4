"""A published tiny city for the serving tests: simulate, extract through the real connectors, build only the
marts the API reads (and everything upstream of them) with the real dbt project into the build schemas, publish.

Runs in a subprocess-free, in-process way under a throwaway YIWANG_HOME; used by conftest.py (session scope)
and runnable on its own: ``python tests/serving/servingcity.py /tmp/home`` (prints the timings).
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "faults"))

from faultkit import API_KEY, SOURCES_YAML, TOKEN  # noqa: E402

from serving.settings import ServingSettings  # noqa: E402
from yiwang.settings import Settings  # noqa: E402

HMAC_KEY = "serving-test-key"

# the marts serving/queries.py reads; `+` selects everything upstream of them
SERVED_MARTS = [
    "service_catalog",
    "approval_on_time_by_item_period",
    "governance_by_grid_month",
    "governance_by_community_month",
    "governance_by_department_month",
    "demands_by_department_community",
    "party_check_in_rate_by_community",
    "property_estate_yearly",
    "resident_services",
]
DBT_ARGS = [
    "build",
    "--select",
    *[f"+{m}" for m in SERVED_MARTS],
    "--exclude-resource-type",
    "unit_test",
    "--exclude-resource-type",
    "test",  # data tests are the dbt suite's job; the mart gate still runs before publish
    "--vars",
    "{yiwang_restricted_marts: true, yiwang_identity_marts: true}",
]


def build_city(home: Path, env: dict[str, str] | None = None) -> dict[str, float]:
    """Simulate a tiny city into ``home``/sources and publish its marts; sets os.environ for the hub (the
    caller restores it). Returns seconds per step."""
    import simulator
    from simulator.http_api import FaultConfig, serve_in_thread
    from yiwang.settings import get_settings

    times: dict[str, float] = {}
    t = time.monotonic()
    sources = home / "sources"
    simulator.generate(sources, scale="tiny", seed=11)
    times["simulate"] = time.monotonic() - t
    (home / "sources.yaml").write_text(SOURCES_YAML, encoding="utf-8")
    server = serve_in_thread(
        sources, approval_token=TOKEN, services_api_key=API_KEY, faults=FaultConfig(seed=3)
    )
    try:
        os.environ.update(
            {
                "YIWANG_HOME": str(home),
                "YIWANG_SOURCES": str(home / "sources.yaml"),
                "YIWANG_APPROVAL_TOKEN": TOKEN,
                "YIWANG_SERVICES_API_KEY": API_KEY,
                "YIWANG_APPROVAL_URL": f"{server.url}/approval",
                "YIWANG_SERVICES_URL": f"{server.url}/services",
                "GX_ANALYTICS_ENABLED": "false",
                **(env or {}),
            }
        )
        for k in ("YIWANG_PARTY_URL", "YIWANG_GRID_URL", "YIWANG_REFERENCE_DIR"):
            os.environ.pop(k, None)
        os.environ.setdefault("YIWANG_HMAC_KEY", "yiwang-test-key")
        os.environ.setdefault("DBT_TARGET_PATH", str(home / "dbt_target"))
        os.environ.setdefault("DBT_LOG_PATH", str(home / "dbt_logs"))
        get_settings.cache_clear()
        from connectors import run
        from yiwang.dbt_runner import run_dbt
        from yiwang.publish import build_schemas, publish
        from yiwang.settings import SYSTEMS

        t = time.monotonic()
        run.extract_reference()
        for s in SYSTEMS:
            run.extract_system(s)
        times["extract"] = time.monotonic() - t
        t = time.monotonic()
        # dbt into the build schemas, then publish (public marts, ops.build_log, the read snapshot) as a build
        # does; the raw and mart gates are left out: the gate suites test them, and they cost this fixture 40 %
        with build_schemas():
            run_dbt(DBT_ARGS, settings=get_settings())
        publish(settings=get_settings())
        times["build"] = time.monotonic() - t
    finally:
        server.stop()
    return times


@dataclass(frozen=True)
class City:
    home: Path
    settings: Settings
    env: dict[str, str]
    seconds: dict[str, float]


@dataclass(frozen=True)
class Keys:
    """Keys (the secrets) of every kind the tests need, made by the real store."""

    all_depts: str  # departments:read + residents:read, department *
    own_dept: str  # departments:read for one department
    own_dept_uscc: str
    no_scope: str  # residents:read only (no departments:read), for one department
    revoked: str


def serving_settings(city: City, **over: object) -> ServingSettings:
    base = ServingSettings(
        hub=city.settings, keys_file=city.home / "serving" / "keys.json", rate=1000.0, burst=1000
    )
    return replace(base, **over)


class Server:
    def __init__(self, app: object) -> None:
        import uvicorn

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False)
        )
        self.thread = threading.Thread(target=self.server.run, name="serving-test", daemon=True)
        self.thread.start()
        for _ in range(400):
            if self.server.started:
                break
            time.sleep(0.025)
        assert self.server.started, "uvicorn did not start"
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@contextmanager
def serve(city: City, **over: object) -> Iterator[Server]:
    """The app (serving.app.create_app) with these settings on a real uvicorn server on loopback."""
    from serving.app import create_app

    server = Server(create_app(serving_settings(city, **over)))
    try:
        yield server
    finally:
        server.stop()


if __name__ == "__main__":
    if len(sys.argv) > 2:  # a dbt project other than the work tree's (e.g. an export of HEAD)
        import yiwang.dbt_runner

        yiwang.dbt_runner.DBT_PROJECT_DIR = Path(sys.argv[2]).resolve()
    print(build_city(Path(sys.argv[1]).resolve()))
