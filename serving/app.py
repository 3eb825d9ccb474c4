"""The read-only API portals consume: published marts only (the read snapshot on DuckDB, the public mart schemas
on PostgreSQL), never raw or staging. docs/serving.md has the routes, keys and limits.

    yiwang serve --port 8080          (or: uvicorn --factory serving.app:create_app)

Besides the API the app serves the portal page (``/portal/``: the catalog and the community / grid dashboards,
serving/static/, reading the public routes only) and the docs site the build writes (``/docs-site/``: the dbt docs
and the Great Expectations Data Docs, ``$YIWANG_HOME/site``); the middleware below covers every path.
"""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.keys import KeyStore
from serving.routes import build_router
from serving.security import KEY_HEADER, ApiError, TokenBuckets, error_response, log_access, retry_after
from serving.settings import MAX_BODY_BYTES, MAX_URL_BYTES, ServingSettings, load_serving_settings

UNLIMITED = ("/health",)
STATIC = Path(__file__).resolve().parent / "static"
# Swagger UI for /docs, shipped with the app (static/vendor/swagger-ui/, docs/serving.md): FastAPI's default page
# loads it from a CDN, which shows nothing offline
SWAGGER_UI = STATIC / "vendor" / "swagger-ui"
DOCS_ASSETS = "/docs/assets"
# the portal page: its own files only (Chart.js is shipped in static/vendor/), data from the API on the same origin
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# the dbt docs page is one file of inline scripts and styles (and evaluates templates), Swagger UI's /docs has an
# inline script and inline styles; still nothing but this origin
DOCS_SITE_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def create_app(cfg: ServingSettings | None = None) -> FastAPI:
    cfg = cfg or load_serving_settings()
    app = FastAPI(
        title="yiwang marts (read-only)",
        version="1.0.0",
        description="Published marts for portals: catalog, dashboards, department performance, once-only view.",
        docs_url=None,  # /docs below: Swagger UI from this app's own files, not a CDN
        redoc_url=None,
        openapi_url="/openapi.json" if cfg.docs else None,
    )
    app.state.serving = cfg
    keys = KeyStore(cfg.keys_file)
    buckets = TokenBuckets(cfg.rate, cfg.burst)
    app.include_router(build_router(cfg))

    app.add_middleware(Guard, keys=keys, buckets=buckets)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Any:
        return error_response(request, exc.status, exc.message, exc.headers, code=exc.code)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Any:
        message = {404: "no such route", 405: "method not allowed: the API is read-only"}.get(
            exc.status_code, str(exc.detail)
        )
        return error_response(request, exc.status_code, message, dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Any:
        problems = [
            {"where": ".".join(str(p) for p in e.get("loc", ())), "problem": str(e.get("msg", "invalid"))}
            for e in exc.errors()
        ]
        return error_response(request, 422, "invalid parameters", problems=problems)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/portal/", status_code=307)

    @app.get("/portal", include_in_schema=False)
    def portal() -> RedirectResponse:
        return RedirectResponse("/portal/", status_code=307)

    @app.get("/docs-site", include_in_schema=False)
    def docs_site_root() -> RedirectResponse:
        return RedirectResponse("/docs-site/", status_code=307)

    @app.get("/docs-site/gates/{suite}", include_in_schema=False)
    def gate_results(suite: str) -> RedirectResponse:
        """The newest Data Docs page of a gate suite's results (a mart's page in the dbt docs links here)."""
        page = latest_validation(cfg.docs_site / "gx", suite)
        if page is None:
            raise ApiError(404, f"no gate results for suite {suite!r} in the docs site (run `yiwang build`)")
        return RedirectResponse(f"/docs-site/gx/{page}", status_code=307)

    if cfg.docs:

        @app.get("/docs", include_in_schema=False)
        def docs() -> HTMLResponse:
            """Swagger UI over /openapi.json, its script, style and icon from this app (FastAPI's "self-hosting
            JavaScript and CSS for docs"): nothing from another origin."""
            return get_swagger_ui_html(
                openapi_url=app.openapi_url or "/openapi.json",
                title=f"{app.title} - Swagger UI",
                swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
                oauth2_redirect_url=None,  # no OAuth2 here: API keys
                swagger_ui_parameters={"validatorUrl": None},  # no badge from validator.swagger.io
            )

        app.mount(DOCS_ASSETS, StaticFiles(directory=SWAGGER_UI), name="docs-assets")

    app.mount("/portal", StaticFiles(directory=STATIC, html=True), name="portal")
    app.mount("/docs-site", StaticFiles(directory=cfg.docs_site, html=True, check_dir=False), name="site")

    if cfg.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(cfg.cors_origins),
            allow_methods=["GET"],
            allow_headers=[KEY_HEADER],
        )
    return app


class Guard:
    """The middleware every request passes (a plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` cost the
    event loop a task group and a stream per request, bench/README.md): request id, request limits (414, 413),
    the API key check (401), the rate limit (429), no stack trace to the caller (500), security headers and the
    access log."""

    def __init__(self, app: ASGIApp, keys: KeyStore, buckets: TokenBuckets) -> None:
        self.app = app
        self.keys = keys
        self.buckets = buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request = Request(scope)
        request.state.request_id = uuid.uuid4().hex[:16]
        request.state.api_key = None
        path = request.url.path
        extra = [
            (b"x-request-id", request.state.request_id.encode()),
            (b"x-content-type-options", b"nosniff"),
        ]
        if path.startswith("/v1/"):
            extra.append((b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"))
        elif path.startswith("/portal"):
            extra.append((b"content-security-policy", PAGE_CSP.encode()))
        elif path.startswith("/docs"):  # the docs site, and /docs (Swagger UI: inline script and styles)
            extra.append((b"content-security-policy", DOCS_SITE_CSP.encode()))
        status, answered = 500, False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status, answered = message["status"], True
                headers = MutableHeaders(scope=message)
                for name, value in extra:
                    headers[name.decode()] = value.decode()
            await send(message)

        try:
            refused = self._refused(request)
            if refused is not None:
                await refused(scope, receive, send_with_headers)
            else:
                await self.app(scope, receive, send_with_headers)
        except Exception:  # noqa: BLE001 - never a stack trace to the caller; the log has the request id
            logging.getLogger("yiwang.serving").exception("request %s failed", request.state.request_id)
            if not answered:
                status = 500
                await error_response(request, 500, "internal error")(scope, receive, send_with_headers)
        log_access(request, status, started)

    def _refused(self, request: Request) -> Response | None:
        raw = request.scope.get("raw_path") or request.url.path.encode()
        if len(raw) + len(request.scope.get("query_string") or b"") > MAX_URL_BYTES:
            return error_response(request, 414, f"path and query longer than {MAX_URL_BYTES} bytes")
        length = request.headers.get("content-length")
        if (length and (not length.isdigit() or int(length) > MAX_BODY_BYTES)) or request.headers.get(
            "transfer-encoding"
        ):
            return error_response(request, 413, f"request bodies are limited to {MAX_BODY_BYTES} bytes")
        presented = request.headers.get(KEY_HEADER)
        if presented is not None:
            request.state.api_key = self.keys.verify(presented)
            if request.state.api_key is None:
                return error_response(
                    request, 401, "unknown or revoked API key", {"WWW-Authenticate": KEY_HEADER}
                )
        if request.url.path not in UNLIMITED:
            key = request.state.api_key
            who = f"key:{key.key_id}" if key else f"ip:{_client(request)}"
            wait = self.buckets.take(who)
            if wait:
                return error_response(request, 429, "rate limit exceeded", {"Retry-After": retry_after(wait)})
        return None


def _client(request: Request) -> str:
    return request.client.host if request.client else "-"


def latest_validation(gx_site: Path, suite: str) -> str | None:
    """The path (under the Data Docs site) of the newest validation result page of ``suite``: GX writes them to
    validations/<suite>/<run name>/<run time>/<batch>.html. None when the suite has none (or is no plain name)."""
    if not suite.replace("_", "").isalnum():
        return None
    pages = sorted(
        (gx_site / "validations" / suite).glob("*/*/*.html"), key=lambda p: (p.parts[-2], p.parts[-3])
    )
    return pages[-1].relative_to(gx_site).as_posix() if pages else None
