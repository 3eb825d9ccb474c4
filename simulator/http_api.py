"""The approval and services HTTP APIs, served from the simulator's JSONL files.

Paging per contract: GET {resource}?updated_since=ISO8601&page_token=...&page_size=1..500 (default 100)
-> {"items": [...], "next_page_token": str | null}; updated_since inclusive; items sorted by cursor,
then key. Page tokens are stateless (the last (cursor, key) served, base64url JSON), so repeating a
request returns the same page. Faults (FaultConfig) are deterministic given the seed and the order
of requests (429/5xx) or the page itself (repeated pages).
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
import random
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response

from simulator.dirt import KIND_GROUP, DirtConfig

LOCAL_TZ = timezone(timedelta(hours=8))
ADDED_FIELD = "kzzd"  # the field the API starts sending without notice (扩展字段)
RESOURCES: dict[str, dict[str, tuple[str, str]]] = {
    "approval": {
        "items": ("sxbm", "updatedAt"),
        "cases": ("bjbh", "updatedAt"),
        "evaluations": ("pjid", "pjsj"),
    },
    "services": {
        "life_items": ("fwbm", "updatedAt"),
        "sites": ("zdid", "updatedAt"),
        "orders": ("ddbh", "updatedAt"),
    },
}


@dataclass(frozen=True)
class FaultConfig:
    """Server-side faults. Rates are per request (429, 5xx) or per page (repeat_page)."""

    seed: int = 0
    rate_429: float = 0.0
    retry_after: int = 1
    rate_5xx: float = 0.0
    repeat_page: float = 0.0
    extra_field: str | bool | None = None
    down: bool = False
    # each fault with a rate > 0 happens at least once: the server's first requests get a 429, then a 502
    # and a 503, and its first page followed by another is served again (a small city has few pages)
    at_least_once: bool = False

    @classmethod
    def from_dirt(cls, dirt: DirtConfig, seed: int = 0, retry_after: int = 1) -> FaultConfig:
        """The contract's API faults at the rates of their dirt kinds (http_429_retry_after, http_5xx per
        request; http_repeated_page per page; http_added_fields on when its rate is > 0). The demo serves
        its simulated APIs with these, so a dirty city's APIs misbehave as the contract says they do.
        Retry-After stays small (1 s) so the demo stays fast."""
        return cls(
            seed=seed,
            rate_429=dirt.kind_rate("http_429_retry_after"),
            retry_after=retry_after,
            rate_5xx=dirt.kind_rate("http_5xx"),
            repeat_page=dirt.kind_rate("http_repeated_page"),
            extra_field=ADDED_FIELD if dirt.kind_rate("http_added_fields") > 0 else None,
            at_least_once=True,
        )

    @classmethod
    def from_manifest(cls, out_dir: Path | str) -> FaultConfig:
        """from_dirt with the dirt configuration and seed recorded in a simulator output's manifest.json
        (no faults when there is no manifest)."""
        path = Path(out_dir) / "manifest.json"
        if not path.exists():
            return cls()
        m = json.loads(path.read_text(encoding="utf-8"))
        d = m.get("dirt") or {}
        cfg = DirtConfig(
            float(d.get("rate", m.get("dirt_rate", 0.0))),
            {k: v for k, v in (d.get("overrides") or {}).items() if k in KIND_GROUP},
        )
        return cls.from_dirt(cfg, seed=int(m.get("seed", 0)))

    @property
    def extra_field_name(self) -> str | None:
        if self.extra_field is True:
            return ADDED_FIELD
        return self.extra_field or None


def parse_instant(text: str) -> float:
    """Epoch seconds of an ISO 8601 / 'YYYY-MM-DD HH:MM:SS' timestamp; no offset means +08:00."""
    value = text.strip().replace(" ", "T", 1) if "T" not in text else text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=LOCAL_TZ)
    return dt.timestamp()


class Resource:
    """One resource's records in memory, sorted by (cursor instant, key)."""

    def __init__(self, path: Path, key: str, cursor: str) -> None:
        self.key, self.cursor = key, cursor
        rows = []
        if path.exists():
            with path.open(encoding="utf-8") as fh:
                rows = [json.loads(line) for line in fh if line.strip()]
        decorated = sorted(
            ((parse_instant(r[cursor]), str(r[key]), r) for r in rows), key=lambda t: (t[0], t[1])
        )
        self.positions = [(t, k) for t, k, _ in decorated]
        self.records = [r for _, _, r in decorated]

    def page(
        self, since: float | None, after: tuple[float, str] | None, size: int
    ) -> tuple[list[dict], int, int]:
        start = 0
        if since is not None:
            start = bisect.bisect_left(self.positions, (since, ""))
        if after is not None:
            start = max(start, bisect.bisect_right(self.positions, after))
        return self.records[start : start + size], start, min(start + size, len(self.records))


def encode_token(pos: tuple[float, str], repeated: bool = False) -> str:
    raw = json.dumps({"t": pos[0], "k": pos[1], "r": int(repeated)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> tuple[tuple[float, str], bool]:
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    obj = json.loads(raw)
    return (float(obj["t"]), str(obj["k"])), bool(obj.get("r", 0))


def _json(status: int, body: dict, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def create_app(
    data_dir: Path | str, approval_token: str, services_api_key: str, faults: FaultConfig = FaultConfig()
) -> FastAPI:
    """FastAPI app serving data_dir/api/{approval,services}/*.jsonl (data_dir = the simulator's out_dir)."""
    data_dir = Path(data_dir)
    api_dir = data_dir / "api" if (data_dir / "api").is_dir() else data_dir
    store = {
        (s, r): Resource(api_dir / s / f"{r}.jsonl", key, cur)
        for s, resources in RESOURCES.items()
        for r, (key, cur) in resources.items()
    }
    app = FastAPI(title="yiwang simulated department APIs")
    app.state.store = store
    app.state.faults = faults
    lock = threading.Lock()
    rnd = random.Random(faults.seed)
    forced: list[int] = []  # statuses still to serve once (at_least_once)
    if faults.at_least_once:
        forced += [429] if faults.rate_429 > 0 else []
        forced += [502, 503] if faults.rate_5xx > 0 else []
    repeat_due = [faults.at_least_once and faults.repeat_page > 0]

    def request_fault() -> Response | None:
        if faults.down:
            return _json(503, {"error": "service unavailable"})
        with lock:
            first = forced.pop(0) if forced else None
            u429, u5xx, which = rnd.random(), rnd.random(), rnd.random()
        if first == 429:
            u429 = -1.0
        elif first is not None:
            u429, u5xx, which = 1.0, -1.0, (0.0 if first == 502 else 1.0)
        if u429 < faults.rate_429:
            return _json(429, {"error": "too many requests"}, {"Retry-After": str(faults.retry_after)})
        if u5xx < faults.rate_5xx:
            return _json(
                502 if which < 0.5 else 503,
                {"error": "bad gateway" if which < 0.5 else "service unavailable"},
            )
        return None

    def serve_page(system: str, resource: str, request: Request) -> Response:
        fault = request_fault()
        if fault is not None:
            return fault
        q = request.query_params
        try:
            size = int(q.get("page_size", "100"))
        except ValueError:
            return _json(400, {"error": "page_size must be an integer 1..500"})
        if not 1 <= size <= 500:
            return _json(400, {"error": "page_size must be 1..500"})
        since = None
        if q.get("updated_since"):
            try:
                since = parse_instant(q["updated_since"])
            except ValueError:
                return _json(400, {"error": "updated_since must be ISO 8601"})
        after, repeated = None, False
        if q.get("page_token"):
            try:
                after, repeated = decode_token(q["page_token"])
            except (ValueError, KeyError, json.JSONDecodeError):
                return _json(400, {"error": "invalid page_token"})
        res = store[(system, resource)]
        items, start, stop = res.page(since, after, size)
        next_token = None
        if stop < len(res.records) and items:
            next_token = encode_token(res.positions[stop - 1])
            digest = hashlib.sha256(
                f"{faults.seed}|{system}|{resource}|{q.get('page_token', '')}|{q.get('updated_since', '')}|{size}".encode()
            ).digest()
            with lock:
                due = repeat_due[0] and not repeated
                repeat_due[0] = repeat_due[0] and not due
            if (
                not repeated
                and faults.repeat_page > 0
                and (due or int.from_bytes(digest[:8], "big") / 2**64 < faults.repeat_page)
            ):
                # Serve this page again next time: the client sees its rows twice.
                next_token = q.get("page_token") or None
                if next_token is None:
                    prev = res.positions[start - 1] if start > 0 else (-1e18, "")
                    next_token = encode_token(prev, repeated=True)
                else:
                    pos, _ = decode_token(next_token)
                    next_token = encode_token(pos, repeated=True)
        extra = faults.extra_field_name
        if extra:
            items = [dict(r, **{extra: "x"}) for r in items]
        return _json(200, {"items": items, "next_page_token": next_token})

    def approval_auth(request: Request) -> Response | None:
        if request.headers.get("authorization") != f"Bearer {approval_token}":
            return _json(401, {"error": "invalid bearer token"}, {"WWW-Authenticate": "Bearer"})
        return None

    def services_auth(request: Request) -> Response | None:
        if request.headers.get("x-api-key") != services_api_key:
            return _json(401, {"error": "invalid api key"})
        return None

    @app.get("/approval/api/v1/{resource}")
    def approval(resource: str, request: Request) -> Response:
        if faults.down:
            return _json(503, {"error": "service unavailable"})
        if resource not in RESOURCES["approval"]:
            return _json(404, {"error": "unknown resource"})
        return approval_auth(request) or serve_page("approval", resource, request)

    @app.get("/services/api/v1/{resource}")
    def services(resource: str, request: Request) -> Response:
        if faults.down:
            return _json(503, {"error": "service unavailable"})
        if resource not in RESOURCES["services"]:
            return _json(404, {"error": "unknown resource"})
        return services_auth(request) or serve_page("services", resource, request)

    return app


@dataclass
class ServerHandle:
    url: str
    server: object
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve_in_thread(
    data_dir: Path | str,
    host: str = "127.0.0.1",
    port: int = 0,
    approval_token: str = "approval-token",
    services_api_key: str = "services-key",
    faults: FaultConfig = FaultConfig(),
) -> ServerHandle:
    """Starts uvicorn in a background thread; returns once it accepts connections."""

    app = create_app(data_dir, approval_token, services_api_key, faults)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="simulator-api"
    )
    thread.start()
    deadline = time.time() + 10
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("simulator API did not start")
        time.sleep(0.02)
    return ServerHandle(f"http://{host}:{bound_port}", server, thread)


def serve(
    data_dir: Path | str,
    host: str = "127.0.0.1",
    port: int = 8800,
    approval_token: str = "approval-token",
    services_api_key: str = "services-key",
    faults: FaultConfig = FaultConfig(),
) -> None:
    """Serves the APIs in the foreground until interrupted."""

    uvicorn.run(
        create_app(data_dir, approval_token, services_api_key, faults), host=host, port=port, log_level="info"
    )
