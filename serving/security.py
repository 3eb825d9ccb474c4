"""Who may call what, and how often: API keys (serving.keys), scopes, per-caller rate limits, the one error
body, and an access log without personal data.

Rate limits are an in-process token bucket per caller (the API key's id, else the client address): each
worker process counts on its own, so with N workers a caller gets up to N times the rate. Enough against a
runaway portal on one machine; a shared limiter (a proxy, Redis) is the answer for more.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader

from serving.keys import ApiKey

KEY_HEADER = "X-API-Key"
access_log = logging.getLogger("yiwang.serving.access")

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "request_too_large",
    414: "uri_too_long",
    422: "invalid_parameters",
    429: "too_many_requests",
    500: "internal_error",
    503: "not_published",
}


class ApiError(Exception):
    def __init__(
        self, status: int, message: str, headers: dict[str, str] | None = None, code: str | None = None
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}
        self.code = code or STATUS_CODES.get(status, "error")


def error_response(
    request: Request,
    status: int,
    message: str,
    headers: dict[str, str] | None = None,
    problems: list[dict[str, str]] | None = None,
    code: str | None = None,
) -> JSONResponse:
    """The one error body: {"error": {status, code, message, request_id, problems}}."""
    body = {
        "error": {
            "status": status,
            "code": code or STATUS_CODES.get(status, "error"),
            "message": message,
            "request_id": getattr(request.state, "request_id", "-"),
            "problems": problems or [],
        }
    }
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})


class TokenBuckets:
    """``rate`` tokens per second, at most ``burst`` saved up, per caller; the least recently seen callers are
    forgotten beyond ``max_callers`` (they start again with a full bucket)."""

    def __init__(self, rate: float, burst: int, max_callers: int = 10_000) -> None:
        self.rate, self.burst, self.max_callers = rate, float(burst), max_callers
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, caller: str, now: float | None = None) -> float:
        """0 when the request may pass, else the seconds until a token is free."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, seen = self._buckets.pop(caller, (self.burst, now))
            tokens = min(self.burst, tokens + (now - seen) * self.rate)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) / self.rate
            self._buckets[caller] = (tokens, now)
            while len(self._buckets) > self.max_callers:
                self._buckets.popitem(last=False)
        return wait


def retry_after(wait: float) -> str:
    return str(max(1, math.ceil(wait)))


# The header is declared through FastAPI's security scheme so the OpenAPI document shows which operations need
# a key; the key itself was checked once by the app's middleware (request.state.api_key).
_key_header = APIKeyHeader(name=KEY_HEADER, auto_error=False, description="API key (yiwang serve keys add)")


def caller(request: Request, _presented: Annotated[str | None, Depends(_key_header)]) -> ApiKey:
    key: ApiKey | None = getattr(request.state, "api_key", None)
    if key is None:
        raise ApiError(401, f"an API key is required (header {KEY_HEADER})", {"WWW-Authenticate": KEY_HEADER})
    return key


def needs(scope: str) -> Any:
    def check(key: Annotated[ApiKey, Depends(caller)]) -> ApiKey:
        if not key.may(scope):
            raise ApiError(403, f"this key may not read this (scope {scope} needed)")
        return key

    return check


def log_access(request: Request, status: int, started: float) -> None:
    """One line per request: method, route template (never the path itself: it may carry a resident's key),
    status, milliseconds, key id. No query string, no client address, no key."""
    route = request.scope.get("route")
    template = getattr(route, "path", None) or "-"
    key: ApiKey | None = getattr(request.state, "api_key", None)
    access_log.info(
        "%s %s %s %d %.1fms key=%s",
        getattr(request.state, "request_id", "-"),
        request.method
        if request.method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
        else "OTHER",
        template,
        status,
        (time.perf_counter() - started) * 1000,
        key.key_id if key else "-",
    )
