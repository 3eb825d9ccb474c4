"""The read-only API over a published tiny city, on a real uvicorn server (loopback), read with requests."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests
from servingcity import City, Keys, serve

from serving import queries
from serving.models import ErrorBody
from yiwang.privacy import is_id_number
from yiwang.snapshot import current_snapshot

pytestmark = [pytest.mark.xdist_group("serving_city"), pytest.mark.slow]

K = 5  # the default small-cell threshold the API runs with


def snapshot(city: City) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(current_snapshot(city.settings)), read_only=True)


def get(url: str, key: str | None = None, **params: Any) -> requests.Response:
    return requests.get(url, params=params, headers={"X-API-Key": key} if key else {}, timeout=30)


def assert_error(r: requests.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, (r.status_code, r.text[:300])
    body = ErrorBody.model_validate(r.json())  # the one error shape, nothing more
    assert body.error.status == status and body.error.request_id == r.headers["X-Request-ID"]
    assert r.headers["Cache-Control"] == "no-store"
    return r.json()


def walk(api: str, **params: Any) -> Iterator[dict[str, Any]]:
    cursor = None
    for _ in range(10_000):
        r = get(f"{api}/v1/catalog", **params, **({"cursor": cursor} if cursor else {}))
        assert r.status_code == 200, r.text[:300]
        page = r.json()
        assert len(page["items"]) <= params.get("limit", 50)
        yield from page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return
    raise AssertionError("the cursor never ended")


# -- catalog --------------------------------------------------------------------------------------------------
def test_cursor_walks_the_whole_catalog_exactly_once(city: City, api: str) -> None:
    con = snapshot(city)
    try:
        expected = [
            r[0]
            for r in con.execute("select item_code from mart_catalog.service_catalog order by 1").fetchall()
        ]
    finally:
        con.close()
    assert len(expected) > 20
    seen = [i["item_code"] for i in walk(api, limit=7)]
    assert seen == expected  # each item once, in the sort order, none missing
    assert [i["item_code"] for i in walk(api, limit=200)] == expected


def test_catalog_filters(city: City, api: str) -> None:
    items = list(walk(api, limit=200))
    life = [i for i in items if i["item_kind"] == "life"]
    gov = [i for i in items if i["item_kind"] == "government"]
    assert life and gov
    assert [i["item_code"] for i in walk(api, kind="life", limit=200)] == [i["item_code"] for i in life]
    word = gov[0]["item_name"][1:3]
    hits = list(walk(api, q=word, limit=200))
    assert hits and all(word.lower() in i["item_name"].lower() for i in hits)
    assert {i["item_code"] for i in hits} == {
        i["item_code"] for i in items if word.lower() in i["item_name"].lower()
    }
    cat = gov[0]["category"]
    assert {i["item_code"] for i in walk(api, category=cat, limit=200)} == {
        i["item_code"] for i in items if i["category"] == cat
    }
    uscc = next(i["department_uscc"] for i in items if i["department_uscc"])
    assert {i["item_code"] for i in walk(api, department=uscc, limit=200)} >= {
        i["item_code"] for i in items if i["department_uscc"] == uscc
    }
    offered = next(i for i in life if i["communities"])
    place = offered["communities"][0]
    there = list(walk(api, community=place, limit=200))
    assert offered["item_code"] in {i["item_code"] for i in there}
    assert all(place in i["communities"] for i in there)
    assert list(walk(api, q="no such item name at all")) == []


def test_cursor_past_the_end_and_bad_cursors(city: City, api: str) -> None:
    query = queries.CatalogQuery()
    past = queries.encode_cursor("\uffff", 1, query)  # after the last item code
    r = get(f"{api}/v1/catalog", cursor=past)
    assert r.status_code == 200 and r.json() == {"items": [], "limit": 50, "next_cursor": None}
    assert_error(
        get(f"{api}/v1/catalog", cursor="bm90LWEtY3Vyc29y"), 404
    )  # base64 of not-a-cursor: no such page
    other = queries.encode_cursor("A", 1, queries.CatalogQuery(kind="life"))
    assert "other filters" in assert_error(get(f"{api}/v1/catalog", cursor=other), 404)["error"]["message"]
    deep = queries.encode_cursor("A", 1000, query)  # the default walk limit is 1000 pages
    assert_error(get(f"{api}/v1/catalog", cursor=deep), 404)
    assert_error(get(f"{api}/v1/catalog", cursor="x" * 600), 422)
    assert_error(get(f"{api}/v1/catalog", limit=201), 422)  # page size bounded
    assert_error(get(f"{api}/v1/catalog", limit=0), 422)
    r = get(f"{api}/v1/catalog", offset=10**9)
    assert (
        r.status_code == 200 and "offset" not in r.json()
    )  # no OFFSET paging at all: the parameter is ignored


def test_item_detail_with_periods(city: City, api: str) -> None:
    con = snapshot(city)
    try:
        code, n = con.execute(
            "select item_code, count(*) from mart_catalog.approval_on_time_by_item_period where period_type = 'month'"
            " group by 1 order by 2 desc, 1 limit 1"
        ).fetchone()
    finally:
        con.close()
    r = get(f"{api}/v1/catalog/{code}")
    assert r.status_code == 200
    body = r.json()
    assert body["item"]["item_code"] == code and len(body["periods"]) == n
    assert [p["period_start"] for p in body["periods"]] == sorted(p["period_start"] for p in body["periods"])
    years = get(f"{api}/v1/catalog/{code}", period="year").json()["periods"]
    assert years and all(p["period_type"] == "year" for p in years)
    assert_error(get(f"{api}/v1/catalog/NOSUCHITEM0"), 404)
    assert_error(get(f"{api}/v1/catalog/{code}", period="week"), 422)


# -- dashboards -----------------------------------------------------------------------------------------------
def _codes(city: City) -> tuple[str, str]:
    con = snapshot(city)
    try:
        grid = con.execute(
            "select grid_code from mart_governance.governance_by_grid_month where grid_code is not null"
            " group by 1 order by sum(events) desc, 1 limit 1"
        ).fetchone()[0]
        community = con.execute(
            "select community_code from mart_governance.governance_by_community_month where community_code is not null"
            " group by 1 order by sum(events) desc, 1 limit 1"
        ).fetchone()[0]
    finally:
        con.close()
    return grid, community


def test_grid_and_community_dashboards(city: City, api: str) -> None:
    grid, community = _codes(city)
    g = get(f"{api}/v1/dashboards/grids/{grid}")
    assert g.status_code == 200 and g.json()["grid_code"] == grid and g.json()["months"]
    c = get(f"{api}/v1/dashboards/communities/{community}").json()
    assert c["community_code"] == community and c["months"]
    assert c["party_check_in"] is not None
    assert c["demands"] is not None and c["demands"]["demands"] is not None
    con = snapshot(city)
    try:
        events = con.execute(
            "select sum(events) from mart_governance.governance_by_community_month where community_code = ?",
            [community],
        ).fetchone()[0]
    finally:
        con.close()
    shown = sum(m["events"] or 0 for m in c["months"])
    hidden = [m for m in c["months"] if m["events"] is None]
    assert shown <= events and shown + len(hidden) * (K - 1) >= events  # suppressed months hide 1..k-1 each
    assert_error(get(f"{api}/v1/dashboards/grids/000000000000000"), 404)
    assert_error(get(f"{api}/v1/dashboards/communities/000000000000"), 404)
    assert_error(get(f"{api}/v1/dashboards/grids/12ab"), 422)


def test_community_index_lists_every_dashboard(city: City, api: str) -> None:
    r = get(f"{api}/v1/dashboards/communities")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "public, max-age=60"
    index = r.json()["communities"]
    con = snapshot(city)
    try:
        expected = {
            c
            for (c,) in con.execute(
                "select community_code from mart_governance.governance_by_community_month"
                " union select community_code from mart_party.party_check_in_rate_by_community"
            ).fetchall()
            if c
        }
        grids = {
            (g, c)
            for g, c in con.execute(
                "select distinct grid_code, community_code from mart_governance.governance_by_grid_month"
                " where grid_code is not null and community_code is not null"
            ).fetchall()
        }
    finally:
        con.close()
    assert [c["community_code"] for c in index] == sorted(expected)
    listed = {(g["grid_code"], c["community_code"]) for c in index for g in c["grids"]}
    assert listed == {(g, c) for g, c in grids if c in expected}
    for c in index[:3]:  # each one answers a dashboard
        assert get(f"{api}/v1/dashboards/communities/{c['community_code']}").status_code == 200


def test_lookup_tables_answer_what_the_marts_answer(city: City) -> None:
    """The publish wrote the lookup tables (yiwang.serving_tables: one row per community, grid and catalog item,
    what its answer is computed from), one row per key the marts have; every dashboard, item and catalog page
    read from them is, byte for byte, the one computed from the marts (at k = 1 and k = 5)."""
    from serving.models import CatalogPage, CommunityDashboard, GridDashboard, ItemDetail
    from yiwang import serving_tables
    from yiwang.snapshot import Reader

    con = snapshot(city)
    try:
        reader = Reader(con.cursor(), True)
        lookups = queries.lookup_tables(reader)
        assert lookups == set(serving_tables.TABLES)
        keys = {
            "community": con.execute(
                "select community_code from mart_governance.governance_by_community_month where community_code"
                " is not null union select community_code from mart_party.party_check_in_rate_by_community"
                " where community_code is not null"
            ).fetchall(),
            "grid": con.execute(
                "select distinct grid_code from mart_governance.governance_by_grid_month where grid_code is not null"
            ).fetchall(),
            "item": con.execute("select item_code from mart_catalog.service_catalog").fetchall(),
        }
        for table, kind in (
            (serving_tables.COMMUNITY_PARTS, "community"),
            (serving_tables.GRID_PARTS, "grid"),
            (serving_tables.CATALOG_PARTS, "item"),
        ):
            column = serving_tables.TABLES[table][0]
            rows = con.execute(f"select {column} from serving.{table}").fetchall()
            assert sorted(rows) == sorted(keys[kind]) and rows, table
        names = [
            n for (n,) in con.execute("select item_name from mart_catalog.service_catalog").fetchall() if n
        ]
        searches = [queries.CatalogQuery(), queries.CatalogQuery(kind="life")]
        searches += [queries.CatalogQuery(q=n[:2]) for n in names[:: max(1, len(names) // 20)]]
        searches.append(queries.CatalogQuery(kind="government", department=names[0][:1]))

        def same(model: Any, fetch: Any, *args: Any) -> int:
            from_lookups, from_marts = fetch(reader, *args, lookups), fetch(reader, *args)
            if from_marts is None:
                assert from_lookups is None, args
                return 0
            dump = lambda v: model.model_validate(v).model_dump_json()  # noqa: E731
            assert dump(from_lookups) == dump(from_marts), args
            return 1

        def page(reader: Any, q: Any, k: int, *lookups: Any) -> dict[str, Any]:
            items, more = queries.catalog_page(reader, q, 20, None, k, *lookups)
            return {"items": items, "limit": 20, "next_cursor": "more" if more else None}

        compared = 0
        for k in (1, K):
            for (c,) in [*keys["community"], ("000000000000",)]:
                compared += same(CommunityDashboard, queries.community_dashboard, c, k)
            for (g,) in [*keys["grid"], ("000000000000000",)]:
                compared += same(GridDashboard, queries.grid_dashboard, g, k)
            for q in searches:
                compared += same(CatalogPage, page, q, k)
        for (item,) in [*keys["item"][::7], ("NOSUCHITEM0",)]:
            compared += same(ItemDetail, queries.item_detail, item, "quarter", K)
        assert compared > 2 * (len(keys["community"]) + len(keys["grid"]))
    finally:
        con.close()


def test_complaints_with_and_without_the_joint_mechanism(city: City, api: str) -> None:
    """Per year: complaints per 100 households of the estates with the joint mechanism and without it, as
    property_estate_yearly counts them (suppressed together when either group's count is 1..k-1)."""
    con = snapshot(city)
    try:
        rows = con.execute(
            """select community_text, year,
                      sum(case when has_joint_mechanism then complaints end) as c_with,
                      sum(case when has_joint_mechanism then households end) as h_with,
                      sum(case when not has_joint_mechanism then complaints end) as c_without,
                      sum(case when not has_joint_mechanism then households end) as h_without
               from mart_property.property_estate_yearly where households > 0 group by 1, 2"""
        ).fetchall()
        codes = dict(
            con.execute(
                "select community_name, min(community_code) from mart_governance.governance_by_community_month"
                " group by 1"
            ).fetchall()
        )
    finally:
        con.close()
    checked = suppressed = 0
    for name in {r[0] for r in rows if r[0] in codes}:
        body = get(f"{api}/v1/dashboards/communities/{codes[name]}").json()
        years = {y["year"]: y for y in body["complaints"]}
        for _, year, c_with, h_with, c_without, h_without in [r for r in rows if r[0] == name]:
            y = years[year]
            got = (
                y["complaints_per_100_households_with_mechanism"],
                y["complaints_per_100_households_without_mechanism"],
            )
            if any(c is not None and 0 < c < K for c in (c_with, c_without)):
                assert got == (None, None) and y["suppressed"]
                suppressed += 1
                continue
            want = tuple(
                round(100.0 * c / h, 4) if h and c is not None else None
                for c, h in ((c_with, h_with), (c_without, h_without))
            )
            assert got == pytest.approx(want), (name, year)
            checked += 1
    assert checked > 0


# -- protected routes -----------------------------------------------------------------------------------------
def _resident(city: City) -> str:
    con = snapshot(city)
    try:
        return con.execute(
            "select resident_key from mart_residents.resident_services group by 1"
            " order by count(distinct source_system) desc, 1 limit 1"
        ).fetchone()[0]
    finally:
        con.close()


def protected_urls(city: City, api: str, keys: Keys) -> dict[str, str]:
    return {
        "department": f"{api}/v1/departments/{keys.own_dept_uscc}/performance",
        "resident": f"{api}/v1/residents/{_resident(city)}",
    }


def test_every_protected_route_needs_a_live_key_and_its_scope(city: City, api: str, keys: Keys) -> None:
    for url in protected_urls(city, api, keys).values():
        assert_error(get(url), 401)
        assert_error(get(url, "ywk_0000000000_" + "A" * 43), 401)  # unknown
        assert_error(get(url, "not-a-key"), 401)
        assert_error(get(url, keys.revoked), 401)
        assert get(url, keys.all_depts).status_code == 200
    urls = protected_urls(city, api, keys)
    assert_error(get(urls["resident"], keys.own_dept), 403)  # no residents:read
    assert_error(get(urls["department"], keys.no_scope), 403)  # no departments:read
    assert get(urls["department"], keys.own_dept).status_code == 200
    other = f"{api}/v1/departments/{'9' * 18}/performance"
    assert_error(get(other, keys.own_dept), 403)  # another department's figures: forbidden
    assert_error(get(other, keys.all_depts), 404)  # every department, but no such one
    assert_error(get(f"{api}/v1/residents/nosuchresident", keys.all_depts), 404)


def test_department_performance_is_the_departments_own(city: City, api: str, keys: Keys) -> None:
    body = get(f"{api}/v1/departments/{keys.own_dept_uscc}/performance", keys.own_dept).json()
    con = snapshot(city)
    try:
        events = con.execute(
            "select sum(events) from mart_governance.governance_by_department_month where department_uscc = ?",
            [keys.own_dept_uscc],
        ).fetchone()[0]
    finally:
        con.close()
    assert sum(m["events"] for m in body["events_by_month"]) == events  # authorised: not suppressed
    assert all(i["item_code"] for i in body["items"])


def test_resident_view_is_masked(city: City, api: str, keys: Keys) -> None:
    key = _resident(city)
    body = get(f"{api}/v1/residents/{key}", keys.all_depts).json()
    assert body["resident_key"] == key and len(body["systems"]) >= 2
    assert re.fullmatch(r".\*+", body["masked_name"])
    assert sum(s["records"] for s in body["systems"]) == sum(s["records"] for s in body["services"])


def test_rate_limit_answers_429_with_retry_after_on_every_route(city: City, keys: Keys) -> None:
    with serve(city, rate=0.5, burst=2) as server:
        grid, community = _codes(city)
        routes = {
            "catalog": (f"{server.url}/v1/catalog", None),
            "item": (f"{server.url}/v1/catalog/NOSUCHITEM0", None),
            "grid": (f"{server.url}/v1/dashboards/grids/{grid}", None),
            "community": (f"{server.url}/v1/dashboards/communities/{community}", None),
            **{name: (url, keys.all_depts) for name, url in protected_urls(city, server.url, keys).items()},
        }
        for _name, (url, key) in routes.items():
            # the anonymous caller (this address) and the key each have their own bucket
            statuses = [get(url, key).status_code for _ in range(3)]
            if statuses[-1] != 429:
                statuses.append(get(url, key).status_code)
            assert 429 in statuses, (url, statuses)
            r = get(url, key)
            body = assert_error(r, 429)
            assert int(r.headers["Retry-After"]) >= 1 and body["error"]["code"] == "too_many_requests"
        assert get(f"{server.url}/health").status_code == 200  # liveness is never limited


# -- caching --------------------------------------------------------------------------------------------------
def test_etag_last_modified_and_304(city: City, api: str, keys: Keys) -> None:
    build_id = current_snapshot(city.settings).stem.removeprefix("marts-")
    for url, key, cache in [
        (f"{api}/v1/catalog?limit=5", None, "public, max-age=60"),
        (protected_urls(city, api, keys)["resident"], keys.all_depts, "private, no-cache"),
    ]:
        r = get(url, key)
        etag = r.headers["ETag"]
        assert r.headers["Cache-Control"] == cache and r.headers["Last-Modified"].endswith("GMT")
        hdr = {"If-None-Match": etag, **({"X-API-Key": key} if key else {})}
        again = requests.get(url, headers=hdr, timeout=30)
        assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag
        hdr["If-None-Match"] = '"something-else"'
        assert requests.get(url, headers=hdr, timeout=30).status_code == 200
        if key:  # a 304 is no way around the key
            assert_error(requests.get(url, headers={"If-None-Match": etag}, timeout=30), 401)
    other = get(f"{api}/v1/catalog?limit=6").headers["ETag"]
    assert other != get(f"{api}/v1/catalog?limit=5").headers["ETag"]  # per request, from the publish
    assert build_id  # the validators come from this publish


# -- one error shape, request limits, docs switch ----------------------------------------------------------
def test_one_error_shape_and_request_limits(city: City, api: str) -> None:
    assert_error(get(f"{api}/v1/nothing-here"), 404)
    r = requests.post(f"{api}/v1/catalog", timeout=30)
    assert_error(r, 405)
    assert "GET" in r.headers["Allow"]
    body = assert_error(get(f"{api}/v1/catalog", limit="many"), 422)
    assert body["error"]["problems"][0]["where"] == "query.limit"
    assert_error(get(f"{api}/v1/catalog", q="x" * 3000), 414)
    assert_error(requests.get(f"{api}/v1/catalog", data=b"x" * 5000, timeout=30), 413)


def test_docs_switch(city: City, api: str) -> None:
    assert get(f"{api}/openapi.json").status_code == 200
    with serve(city, docs=False) as server:
        assert_error(get(f"{server.url}/docs"), 404)
        assert_error(get(f"{server.url}/openapi.json"), 404)
        assert get(f"{server.url}/v1/catalog", limit=1).status_code == 200


def test_page_and_docs_site_are_served(city: City, api: str, tmp_path: Path) -> None:
    """/ and /portal lead to the portal page (its own files and Chart.js, under a self-only CSP); /docs-site/ is
    the build's docs site; /docs-site/gates/<suite> leads to the suite's newest Data Docs result page."""
    r = requests.get(f"{api}/", timeout=30, allow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/portal/"
    page = requests.get(f"{api}/portal", timeout=30)
    assert (
        page.status_code == 200 and page.url.endswith("/portal/") and "vendor/chart.umd.min.js" in page.text
    )
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    for asset, kind in (
        ("portal.js", "javascript"),
        ("portal.css", "css"),
        ("vendor/chart.umd.min.js", "javascript"),
    ):
        a = requests.get(f"{api}/portal/{asset}", timeout=30)
        assert a.status_code == 200 and kind in a.headers["content-type"], asset
    assert_error(requests.get(f"{api}/portal/nothing.js", timeout=30), 404)
    assert not [
        p for p in get(f"{api}/openapi.json").json()["paths"] if not p.startswith(("/v1/", "/health"))
    ]

    site = tmp_path / "site"
    (site / "dbt").mkdir(parents=True)
    (site / "index.html").write_text("<h1>yiwang docs</h1>", encoding="utf-8")
    (site / "dbt" / "index.html").write_text("<p>dbt docs</p>", encoding="utf-8")
    suite = "mart_catalog__service_catalog"
    for run in (
        "mart_gate-20260101T000000/20260101T000001.000000Z",
        "mart_gate-20260102T000000/20260102T000001.000000Z",
    ):
        (site / "gx" / "validations" / suite / run).mkdir(parents=True)
        (site / "gx" / "validations" / suite / run / "batch.html").write_text(run, encoding="utf-8")
    with serve(city, site_dir=site) as server:
        home = requests.get(f"{server.url}/docs-site", timeout=30)
        assert home.status_code == 200 and "yiwang docs" in home.text
        assert "'self'" in home.headers["Content-Security-Policy"]
        assert "dbt docs" in requests.get(f"{server.url}/docs-site/dbt/", timeout=30).text
        newest = requests.get(f"{server.url}/docs-site/gates/{suite}", timeout=30)
        assert (
            newest.status_code == 200 and newest.text == "mart_gate-20260102T000000/20260102T000001.000000Z"
        )
        assert_error(requests.get(f"{server.url}/docs-site/gates/mart_x__nothing", timeout=30), 404)
        assert_error(requests.get(f"{server.url}/docs-site/../warehouse.duckdb", timeout=30), 404)


def test_access_log_has_no_personal_data(
    city: City, api: str, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    resident = _resident(city)
    with caplog.at_level(logging.INFO, logger="yiwang.serving.access"):
        get(f"{api}/v1/residents/{resident}", keys.all_depts)
        get(f"{api}/v1/catalog", q="张三")
        get(f"{api}/v1/residents/{resident}", "ywk_0000000000_" + "B" * 43)
    lines = [r.getMessage() for r in caplog.records if r.name == "yiwang.serving.access"]
    assert len(lines) == 3
    text = "\n".join(lines)
    assert resident not in text and "张三" not in text and "BBBB" not in text and keys.all_depts not in text
    assert "/v1/residents/{resident_key}" in text
    assert keys.all_depts.split("_")[1] in text  # the key's id, never the key


# -- personal data and small cells over every route ----------------------------------------------------------
_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def _valid_id(s: str) -> bool:
    """A citizen ID: area code and birth date (yiwang.privacy.is_id_number) and the ISO 7064 check character."""
    total = sum(int(c) * w for c, w in zip(s[:17], _WEIGHTS))
    return is_id_number(s) and "10X98765432"[total % 11] == s[17].upper()


ID18 = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])")
MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


def resident_names(city: City) -> set[str]:
    con = duckdb.connect(str(city.home / "warehouse.duckdb"), read_only=True)
    try:
        names = set()
        for (
            sql
        ) in [  # the people of the city: the register, Party members, every person record identity matched
            "select name from staging.stg_grid__residents",
            "select name from staging.stg_party__members",
            "select name from staging.int_residents_records_unioned",
        ]:
            names |= {r[0].strip() for r in con.execute(sql).fetchall() if r[0] and len(r[0].strip()) >= 2}
    finally:
        con.close()
    return names


def every_response(city: City, api: str, keys: Keys) -> dict[str, str]:
    """The body of every route, over many objects: url -> text."""
    out: dict[str, str] = {}
    con = snapshot(city)
    try:
        grids = [
            r[0]
            for r in con.execute(
                "select distinct grid_code from mart_governance.governance_by_grid_month where grid_code is not null"
            ).fetchall()
        ]
        communities = [
            r[0]
            for r in con.execute(
                "select distinct community_code from mart_party.party_check_in_rate_by_community where community_code is not null"
            ).fetchall()
        ]
        depts = [
            r[0]
            for r in con.execute(
                "select distinct department_uscc from mart_governance.governance_by_department_month where department_uscc is not null"
            ).fetchall()
        ]
        residents = [
            r[0]
            for r in con.execute(
                "select distinct resident_key from mart_residents.resident_services order by 1 limit 40"
            ).fetchall()
        ]
    finally:
        con.close()
    items = list(walk(api, limit=200))
    urls = [f"{api}/health", f"{api}/v1/catalog?limit=200", f"{api}/v1/dashboards/communities"]
    urls += [f"{api}/v1/catalog/{i['item_code']}" for i in items[:: max(1, len(items) // 40)]]
    urls += [f"{api}/v1/dashboards/grids/{g}" for g in grids]
    urls += [f"{api}/v1/dashboards/communities/{c}" for c in communities]
    for url in urls:
        r = get(url)
        assert r.status_code == 200, (url, r.status_code)
        out[url] = r.text
    for url in [f"{api}/v1/departments/{d}/performance" for d in depts] + [
        f"{api}/v1/residents/{k}" for k in residents
    ]:
        r = get(url, keys.all_depts)
        assert r.status_code == 200, (url, r.status_code)
        out[url] = r.text
    return out


@pytest.fixture(scope="module")
def responses(city: City, api: str, keys: Keys) -> dict[str, str]:
    return every_response(city, api, keys)


def test_no_personal_data_in_any_response(city: City, responses: dict[str, str]) -> None:
    names = resident_names(city)
    assert len(names) > 100
    kinds = {u.split("/v1/")[-1].split("/")[0] for u in responses}
    assert {"catalog", "dashboards", "departments", "residents"} <= kinds

    def scan(url: str, text: str) -> list[tuple[str, str]]:
        hits = [(url, m) for m in ID18.findall(text) if _valid_id(m)]
        hits += [(url, m) for m in MOBILE.findall(text)]
        return hits + [(url, n) for n in names if n in text]

    name = sorted(names)[0]  # the scan finds what it looks for: a raw ID, a mobile, a resident's name
    assert len(scan("control", f'"x":"11010519491231002X","y":"13812345678","z":"{name}"')) == 3
    hits = [h for url, text in responses.items() for h in scan(url, text)]
    assert hits == [], hits[:10]


def _counts(node: Any, path: str = "") -> Iterator[tuple[str, int]]:
    if isinstance(node, dict):
        for k, v in node.items():
            if (
                isinstance(v, int)
                and not isinstance(v, bool)
                and k
                not in (
                    "year",
                    "limit",
                    "window_days",
                    "households",
                    "estates",
                    "estates_with_joint_mechanism",
                    "promised_limit_days",
                    "max_visits",
                    "status",
                )
            ):
                yield f"{path}.{k}", v
            else:
                yield from _counts(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _counts(v, f"{path}[{i}]")


def test_small_cells_suppressed_in_public_responses(responses: dict[str, str]) -> None:
    import json

    public = {
        u: json.loads(t) for u, t in responses.items() if "/departments/" not in u and "/residents/" not in u
    }
    small = [(u, p, v) for u, body in public.items() for p, v in _counts(body) if 0 < v < K]
    assert small == [], small[:10]
    flagged = sum(json.dumps(body).count('"suppressed": true') for body in public.values())
    assert flagged > 0  # the tiny city has small cells: they were suppressed, not absent


def test_a_new_publish_is_served_from_the_next_request(city: City, tmp_path: Path) -> None:
    """The API keeps the current snapshot open between requests; a publish (the link swapped to a new file) is
    read from the next request on, and the older file may be pruned under it."""
    import shutil

    from yiwang.snapshot import LINK, snapshot_dir

    home = tmp_path / "home"
    hub = replace(city.settings, home=home)
    folder = snapshot_dir(hub)
    folder.mkdir(parents=True)
    first = folder / "marts-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.duckdb"
    shutil.copy(current_snapshot(city.settings), first)
    os.symlink(first.name, folder / LINK)
    with serve(city, hub=hub) as server:
        before = get(f"{server.url}/v1/catalog", limit=200)
        n_before = len(list(walk(server.url, limit=200)))
        second = folder / "marts-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.duckdb"
        shutil.copy(first, second)
        con = duckdb.connect(str(second))
        try:
            con.execute("delete from mart_catalog.service_catalog where item_kind = 'life'")
            con.execute(
                "delete from serving.catalog_item_parts where item_kind = 'life'"
            )  # as a publish would
        finally:
            con.close()
        os.symlink(second.name, folder / ".next")
        os.replace(folder / ".next", folder / LINK)  # as yiwang.snapshot publishes: one atomic rename
        first.unlink()  # pruned while the API still holds it open
        after = get(f"{server.url}/v1/catalog", limit=200)
        assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
        items = list(walk(server.url, limit=200))
        assert 0 < len(items) < n_before and all(i["item_kind"] == "government" for i in items)
