"""Simulate the small demo city (unless already there) and land the systems the catalog, governance and
points marts read into the warehouse of YIWANG_HOME / YIWANG_WAREHOUSE_URL. Run as a script in a child
process so the settings cache and the environment of the test process stay untouched:

    python tests/marts_a/land_sources.py [--no-simulate]
"""

from __future__ import annotations

import os
import sys

from rich.console import Console

# The marts of issue #5 part A read these systems only (property and hotline are not needed).
SYSTEMS = ("party", "grid", "approval", "services")


def main(argv: list[str]) -> int:
    from connectors import run
    from simulator import http_api
    from yiwang.demo import ensure_secrets, run_simulator, sources_current
    from yiwang.settings import get_settings

    console = Console(stderr=True)
    ensure_secrets(console)
    settings = get_settings()
    out = settings.home / "sources"
    if "--no-simulate" not in argv and not sources_current(out, "small", 42):
        run_simulator(out, scale="small", seed=42, console=console)
    server = http_api.serve_in_thread(out, host="127.0.0.1", port=0,
                                      approval_token=os.environ["YIWANG_APPROVAL_TOKEN"],
                                      services_api_key=os.environ["YIWANG_SERVICES_API_KEY"])
    os.environ["YIWANG_APPROVAL_URL"] = f"{server.url}/approval"
    os.environ["YIWANG_SERVICES_URL"] = f"{server.url}/services"
    get_settings.cache_clear()
    try:
        run.extract_reference()
        for system in SYSTEMS:
            run.extract_system(system)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
