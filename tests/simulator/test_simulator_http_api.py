"""The approval / services API against a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

import json

import requests

from simulator.http_api import FaultConfig, parse_instant, serve_in_thread

APPROVAL = {"Authorization": "Bearer tok"}
SERVICES = {"X-API-Key": "key"}


def _all(url: str, headers: dict, **params) -> list[dict]:
    out, token = [], None
    while True:
        p = dict(params, **({"page_token": token} if token else {}))
        body = requests.get(url, headers=headers, params=p, timeout=10).json()
        out += body["items"]
        token = body["next_page_token"]
        if not token:
            return out


def test_paging_returns_everything_sorted(api_server, small_out) -> None:
    out, m = small_out
    items = _all(f"{api_server.url}/approval/api/v1/cases", APPROVAL, page_size=37)
    assert len(items) == m["row_counts"]["approval"]["cases"] == len({i["bjbh"] for i in items})
    keys = [(parse_instant(i["updatedAt"]), i["bjbh"]) for i in items]
    assert keys == sorted(keys)
    orders = _all(f"{api_server.url}/services/api/v1/orders", SERVICES, page_size=500)
    assert len(orders) == m["row_counts"]["services"]["orders"]


def test_default_page_size_and_repeatable_tokens(api_server) -> None:
    url = f"{api_server.url}/services/api/v1/life_items"
    first = requests.get(url, headers=SERVICES, timeout=10).json()
    assert len(first["items"]) == 100 and first["next_page_token"]
    a = requests.get(
        url, headers=SERVICES, params={"page_token": first["next_page_token"]}, timeout=10
    ).json()
    b = requests.get(
        url, headers=SERVICES, params={"page_token": first["next_page_token"]}, timeout=10
    ).json()
    assert a == b


def test_updated_since_inclusive_across_formats(api_server) -> None:
    url = f"{api_server.url}/approval/api/v1/evaluations"
    every = _all(url, APPROVAL, page_size=500)
    pivot = every[len(every) // 2]["pjsj"]
    since = _all(url, APPROVAL, updated_since=pivot, page_size=500)
    assert since[0]["pjsj"] == pivot
    assert all(parse_instant(x["pjsj"]) >= parse_instant(pivot) for x in since)
    # services cursor has no offset; a UTC query instant must compare as an instant
    orders = _all(
        f"{api_server.url}/services/api/v1/orders",
        SERVICES,
        updated_since="2025-06-30T16:00:00Z",
        page_size=500,
    )
    assert orders and all(x["updatedAt"] >= "2025-07-01 00:00:00" for x in orders)


def test_auth_and_bad_requests(api_server) -> None:
    url = f"{api_server.url}/approval/api/v1/items"
    assert requests.get(url, timeout=10).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=10).status_code == 401
    assert (
        requests.get(
            f"{api_server.url}/services/api/v1/sites", headers={"X-API-Key": "x"}, timeout=10
        ).status_code
        == 401
    )
    for size in (0, 501, "abc"):
        assert requests.get(url, headers=APPROVAL, params={"page_size": size}, timeout=10).status_code == 400
    assert requests.get(url, headers=APPROVAL, params={"page_size": 500}, timeout=10).status_code == 200
    assert requests.get(url, headers=APPROVAL, params={"page_token": "%%%"}, timeout=10).status_code == 400


def test_faults(small_out) -> None:
    out, _ = small_out
    h = serve_in_thread(
        out,
        approval_token="tok",
        services_api_key="key",
        faults=FaultConfig(seed=3, rate_429=0.3, rate_5xx=0.2, repeat_page=0.5, extra_field=True),
    )
    try:
        url = f"{h.url}/approval/api/v1/cases"
        statuses, rows, token = [], [], None
        for _ in range(200):
            r = requests.get(
                url,
                headers=APPROVAL,
                params={"page_size": 50, **({"page_token": token} if token else {})},
                timeout=10,
            )
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert int(r.headers["Retry-After"]) >= 1
                continue
            if r.status_code in (502, 503):
                continue
            body = r.json()
            rows += body["items"]
            token = body["next_page_token"]
            if not token:
                break
        assert token is None
        assert 429 in statuses and ({502, 503} & set(statuses))
        keys = [x["bjbh"] for x in rows]
        assert len(keys) > len(set(keys)) == 500  # repeated pages gave duplicates, nothing was lost
        assert all("kzzd" in x for x in rows)
    finally:
        h.stop()


def test_down_mode(small_out) -> None:
    h = serve_in_thread(
        small_out[0], approval_token="tok", services_api_key="key", faults=FaultConfig(down=True)
    )
    try:
        assert requests.get(f"{h.url}/approval/api/v1/items", headers=APPROVAL, timeout=10).status_code == 503
        assert (
            requests.get(f"{h.url}/services/api/v1/orders", headers=SERVICES, timeout=10).status_code == 503
        )
    finally:
        h.stop()


def test_fault_sequence_is_deterministic(small_out) -> None:
    def run() -> list[int]:
        h = serve_in_thread(
            small_out[0],
            approval_token="tok",
            services_api_key="key",
            faults=FaultConfig(seed=9, rate_429=0.3, rate_5xx=0.3),
        )
        try:
            return [
                requests.get(f"{h.url}/approval/api/v1/items", headers=APPROVAL, timeout=10).status_code
                for _ in range(30)
            ]
        finally:
            h.stop()

    assert run() == run()
    assert json.dumps(FaultConfig().__dict__)
