"""Hand-computed checks of the API's rules: small-cell suppression, token buckets, cursors, the key store and
`yiwang serve keys` (no city needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from serving import queries
from serving.keys import KeyStore
from serving.security import TokenBuckets, retry_after
from yiwang.settings import ConfigError


def test_suppression_hides_counts_1_to_k_minus_1_and_rates_over_fewer_than_k() -> None:
    s = queries.Suppressor(5)
    assert [s.count(n) for n in (None, 0, 1, 4, 5, 17)] == [None, 0, None, None, 5, 17]
    assert s.take() is True and s.take() is False  # 1 and 4 were hidden; take() resets
    assert (
        s.rate(0.75, 4) is None and s.take() is True
    )  # 3 of 4: a rate over 4 cases would single someone out
    assert s.rate(0.8, 5) == 0.8 and s.rate(None, 0) is None and s.take() is False


def test_item_figures_suppressed_by_their_own_denominators() -> None:
    row = {
        "cases_30d": 3, "on_time_cases_30d": 2, "overdue_cases_30d": 1, "on_time_rate_30d": 2 / 3,
        "median_handling_working_days_30d": 4.0, "orders_30d": None, "ratings_30d": 0,
        "satisfied_share_30d": None, "mean_rating_30d": None,
    }  # fmt: skip
    out = queries._figures(row, 30, queries.Suppressor(5))
    assert out == {
        "window_days": 30, "cases": None, "on_time_rate": None, "median_handling_working_days": None,
        "orders": None, "ratings": 0, "satisfied_share": None, "mean_rating": None, "suppressed": True,
    }  # fmt: skip
    row.update(cases_30d=12, on_time_cases_30d=6, overdue_cases_30d=2, on_time_rate_30d=0.75, ratings_30d=5)
    row.update(satisfied_share_30d=0.6, mean_rating_30d=3.8)
    out = queries._figures(row, 30, queries.Suppressor(5))
    assert (out["cases"], out["on_time_rate"], out["median_handling_working_days"]) == (12, 0.75, 4.0)
    assert (out["ratings"], out["satisfied_share"], out["mean_rating"], out["suppressed"]) == (
        5,
        0.6,
        3.8,
        False,
    )


def test_token_bucket_refills_at_the_rate() -> None:
    b = TokenBuckets(rate=0.5, burst=2)
    assert b.take("a", now=0.0) == 0 and b.take("a", now=0.0) == 0
    assert b.take("a", now=0.0) == pytest.approx(2.0)  # empty: one token takes 1 / 0.5 s
    assert b.take("b", now=0.0) == 0  # every caller has its own bucket
    assert b.take("a", now=1.0) == pytest.approx(1.0)  # half a token after 1 s
    assert b.take("a", now=2.0) == 0
    assert retry_after(0.2) == "1" and retry_after(2.01) == "3"


def test_cursor_round_trip_and_refusals() -> None:
    q = queries.CatalogQuery(q="养老", kind="life")
    c = queries.encode_cursor("FW001", 3, q)
    assert queries.decode_cursor(c, q, max_pages=10) == ("FW001", 3)
    with pytest.raises(queries.BadCursor, match="other filters"):
        queries.decode_cursor(c, queries.CatalogQuery(q="养老"), max_pages=10)
    with pytest.raises(queries.BadCursor, match="deeper"):
        queries.decode_cursor(c, q, max_pages=3)
    for bad in ("", "%%%", "eyJhIjoxfQ", "bnVsbA"):  # empty, not base64, {"a":1}, null
        with pytest.raises(queries.BadCursor):
            queries.decode_cursor(bad, q, max_pages=10)


def test_key_store_keeps_only_hashes(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    record, key = store.add("portal-a", "91420100MA4K000001", ["departments:read"])
    text = (tmp_path / "keys.json").read_text(encoding="utf-8")
    assert key not in text and key.rsplit("_", 1)[1] not in text and record.key_hash in text
    assert oct((tmp_path / "keys.json").stat().st_mode & 0o777) == "0o600"
    assert store.verify(key) == record and store.verify(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    other = KeyStore(tmp_path / "keys.json")  # a running API: sees the revocation at its next request
    assert other.verify(key) == record
    store.revoke(record.key_id)
    assert other.verify(key) is None
    with pytest.raises(ConfigError):
        store.add("portal-b", "not-a-uscc", ["departments:read"])
    with pytest.raises(ConfigError):
        store.add("portal-b", "*", ["write:everything"])


def test_cli_keys_add_list_revoke(tmp_path: Path) -> None:
    env = {**os.environ, "YIWANG_HOME": str(tmp_path), "YIWANG_HMAC_KEY": "k"}
    env.pop("YIWANG_SERVING_KEYS", None)
    yiwang = [str(Path(sys.executable).parent / "yiwang"), "serve", "keys"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(
            [*yiwang, *args], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert out.returncode == 0, out.stderr[-2000:]
        return out

    added = run("add", "--portal", "street-portal", "--department", "*", "--scope", "residents:read")
    key = added.stdout.splitlines()[1]
    key_id = added.stdout.split()[1]
    assert key.startswith(f"ywk_{key_id}_") and "shown once" in added.stderr
    listed = run("list").stdout
    assert key_id in listed and key not in listed and "active" in listed
    assert key not in (tmp_path / "serving" / "keys.json").read_text(encoding="utf-8")
    run("revoke", key_id)
    assert "revoked" in run("list").stdout
    doc = json.loads((tmp_path / "serving" / "keys.json").read_text(encoding="utf-8"))
    assert doc["keys"][0]["revoked_at"]


def test_route_marts_name_the_apps_operations_and_every_mart_read() -> None:
    """The docs site links each mart to its routes by serving.routes.ROUTE_MARTS: every entry is an operation of
    the app's OpenAPI (path, tag, operationId), every API route is listed, and every mart queries.py reads is."""
    import re

    from serving.app import create_app
    from serving.routes import ROUTE_MARTS
    from serving.settings import ServingSettings
    from yiwang.settings import get_settings

    spec = create_app(ServingSettings(hub=get_settings(), keys_file=Path("/nonexistent/keys.json"))).openapi()
    operations = {
        path: (op["tags"][0], op["operationId"]) for path, ops in spec["paths"].items() for op in ops.values()
    }
    assert {p: (t, o) for p, (t, o, _) in ROUTE_MARTS.items()} == {
        p: v for p, v in operations.items() if p.startswith("/v1/")
    }
    from yiwang import serving_tables

    source = Path(queries.__file__).read_text(encoding="utf-8").split('"""', 2)[2]
    read = set(re.findall(r"\b(mart_[a-z]+\.[a-z_]+)\b", source))
    read |= {
        f"{s}.{t}" for sources in serving_tables.SOURCES.values() for s, t in sources
    }  # the lookup tables'
    assert read and read <= {m for _, _, marts in ROUTE_MARTS.values() for m in marts}


def test_docs_page_loads_only_this_apps_files(tmp_path: Path) -> None:
    """/docs (Swagger UI) names no other origin: its script, style and icon are the vendored files, answered here."""
    import re

    from starlette.testclient import TestClient

    from serving.app import create_app
    from serving.settings import ServingSettings
    from yiwang.settings import get_settings

    app = create_app(ServingSettings(hub=get_settings(), keys_file=tmp_path / "keys.json"))
    with TestClient(app) as client:
        page = client.get("/docs")
        assert page.status_code == 200 and "SwaggerUIBundle" in page.text
        assert "default-src 'self'" in page.headers["Content-Security-Policy"]  # nor may the browser
        refs = re.findall(r"""(?:src|href|url)\s*[=:]\s*["']([^"']+)["']""", page.text)
        assert not [u for u in refs if re.match(r"^(?:[a-z][a-z0-9+.-]*:)?//", u, re.I)], refs
        assert not re.search(r"https?://", page.text)  # not in a script either
        assets = [u for u in refs if u != "/openapi.json"]
        assert len(assets) == 3, refs  # the script, the style, the icon
        kinds = {".js": "javascript", ".css": "text/css", ".png": "image/png"}
        for url in assets:
            r = client.get(url)
            assert r.status_code == 200 and len(r.content) > 100, url
            assert kinds[Path(url).suffix] in r.headers["content-type"], url
        assert client.get("/openapi.json").status_code == 200


def test_docs_site_links_each_mart_to_its_routes_and_gate_results(tmp_path: Path) -> None:
    from yiwang.publish import link_marts_in_docs

    def model(schema: str, name: str, description: str = "A mart.") -> dict[str, object]:
        return {
            "resource_type": "model",
            "schema": schema,
            "name": name,
            "alias": name,
            "description": description,
        }

    manifest = {
        "nodes": {
            "model.yiwang.service_catalog": model("mart_catalog__build", "service_catalog"),
            "model.yiwang.property_city_yearly": model("mart_property", "property_city_yearly"),
            "model.yiwang.stg_x": model("staging", "stg_x"),
        }
    }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    assert link_marts_in_docs(path) == 2
    assert link_marts_in_docs(path) == 0  # once only
    nodes = json.loads(path.read_text(encoding="utf-8"))["nodes"]
    catalog = nodes["model.yiwang.service_catalog"]["description"]
    assert catalog.startswith("A mart.")
    assert "[`GET /v1/catalog`](/docs#/catalog/catalog_v1_catalog_get)" in catalog
    assert "(/docs-site/gates/mart_catalog__service_catalog)" in catalog  # the hand-written suite
    city = nodes["model.yiwang.property_city_yearly"]["description"]
    assert "not served by the API" in city
    assert "(/docs-site/gates/mart_property__property_city_yearly)" in city  # its key suite
    assert nodes["model.yiwang.stg_x"]["description"] == "A mart."


def test_response_cache_keeps_recent_answers_within_its_bytes() -> None:
    from serving.routes import ResponseCache

    cache = ResponseCache(800)
    a, b, c = (
        ("build1", "/v1/catalog", "[]"),
        ("build1", "/v1/catalog", "[('q', 'x')]"),
        ("build2", "/v1/catalog", "[]"),
    )
    cache.put(a, b"A" * 100)
    cache.put(b, b"B" * 100)
    assert cache.get(a) == b"A" * 100 and cache.get(c) is None  # another publish is another key
    cache.put(c, b"C" * 100)
    cache.put(("build2", "/big", "[]"), b"X" * 101)  # more than an eighth of the cache: never kept
    assert cache.get(("build2", "/big", "[]")) is None
    for i in range(6):  # 900 bytes offered: the least recently used go first
        cache.put(("build2", f"/v1/dashboards/grids/{i}", "[]"), b"G" * 100)
    assert cache.size <= 800
    assert cache.get(b) is None and cache.get(a) and cache.get(("build2", "/v1/dashboards/grids/5", "[]"))
    assert (cache.hits, cache.misses) == (3, 3)


def test_lookup_tables_skip_marts_of_another_shape(tmp_path: Path) -> None:
    """A publish whose marts lack a column a lookup table reads (a project with a catalog of its own shape) writes
    no such lookup table, and does not fail: the API then reads the marts. With every column present it writes."""
    from yiwang import serving_tables
    from yiwang.warehouse import open_warehouse

    columns = ", ".join(f"{c} varchar" for c in serving_tables.CATALOG_COLUMNS)
    with open_warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh, wh.transaction() as tx:
        tx.execute("create schema mart_catalog")
        tx.execute("create table mart_catalog.service_catalog (item_code varchar, item_kind varchar)")
        tx.execute("insert into mart_catalog.service_catalog values ('A1', 'approval')")
        assert serving_tables.write(tx) == {}
        assert not tx.table_exists(serving_tables.SCHEMA, serving_tables.CATALOG_PARTS)
        tx.execute("drop table mart_catalog.service_catalog")
        tx.execute(f"create table mart_catalog.service_catalog ({columns})")
        tx.execute(
            "insert into mart_catalog.service_catalog (item_code, item_kind) values ('A1', 'approval')"
        )
        assert serving_tables.write(tx) == {f"{serving_tables.SCHEMA}.{serving_tables.CATALOG_PARTS}": 1}
