"""The serving tests' world: one published tiny city per session (servingcity.py: simulate, extract, build only
the marts the API reads, publish) and the API on a real uvicorn server on loopback, with API keys made by the real
key store. Everything read-only: tests never change the city."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from servingcity import HMAC_KEY, City, Keys, build_city, serve

from serving.keys import KeyStore
from yiwang.settings import get_settings, load_settings


@pytest.fixture(scope="session")
def city(tmp_path_factory: pytest.TempPathFactory) -> City:
    reuse = os.environ.get(
        "YIWANG_SERVING_TEST_HOME"
    )  # a city servingcity.py built earlier (while iterating)
    if reuse:
        home = Path(reuse).resolve()
        env = {"YIWANG_SOURCES": str(home / "sources.yaml"), "YIWANG_APPROVAL_URL": "http://127.0.0.1:9"}
        env["YIWANG_SERVICES_URL"], seconds = env["YIWANG_APPROVAL_URL"], {}
        settings = load_settings({**os.environ, "YIWANG_HOME": str(home), "YIWANG_WAREHOUSE_URL": "", **env})
        return City(home, settings, env, seconds)
    home = tmp_path_factory.mktemp("serving_city")
    saved = dict(os.environ)
    try:
        seconds = build_city(home, {"YIWANG_HMAC_KEY": HMAC_KEY, "YIWANG_WAREHOUSE_URL": ""})
        env = {k: v for k, v in os.environ.items() if k.startswith(("YIWANG_", "DBT_"))}
    finally:  # the environment is the session's, not this fixture's
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()
    env.pop("YIWANG_WAREHOUSE_URL", None)
    print(f"serving city built: {seconds}")
    settings = load_settings({**env, "YIWANG_HOME": str(home)})
    return City(home, settings, env, seconds)


@pytest.fixture(scope="session")
def keys(city: City) -> Keys:
    import duckdb

    from yiwang.snapshot import current_snapshot

    con = duckdb.connect(str(current_snapshot(city.settings)), read_only=True)
    try:
        uscc = con.execute(
            "select department_uscc from mart_governance.governance_by_department_month"
            " where department_uscc is not null group by 1 order by count(*) desc, 1 limit 1"
        ).fetchone()[0]
    finally:
        con.close()
    store = KeyStore(city.home / "serving" / "keys.json")
    _, all_depts = store.add("city-portal", "*", ["departments:read", "residents:read"])
    _, own = store.add("dept-portal", uscc, ["departments:read"])
    _, no_scope = store.add("resident-desk", uscc, ["residents:read"])
    gone, revoked = store.add("old-portal", "*", ["departments:read", "residents:read"])
    store.revoke(gone.key_id)
    return Keys(all_depts, own, uscc, no_scope, revoked)


@pytest.fixture(scope="session")
def api(city: City, keys: Keys) -> Iterator[str]:
    """The base URL of the API over the tiny city (rate limits high: the 429 tests start their own)."""
    with serve(city) as server:
        yield server.url
