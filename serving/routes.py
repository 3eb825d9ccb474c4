"""The API's routes. Public: /health, the catalog, item detail, grid and community dashboards (public
aggregates, small cells suppressed). With an API key: department performance (scope departments:read, the
key's own department) and the resident once-only view (scope residents:read)."""

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from email.utils import format_datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel

from serving import queries
from serving.keys import ApiKey
from serving.models import (
    CatalogPage,
    CommunityDashboard,
    CommunityIndex,
    DepartmentPerformance,
    ErrorBody,
    GridDashboard,
    Health,
    ItemDetail,
    ResidentView,
)
from serving.security import ApiError, needs
from serving.settings import MAX_CURSOR_CHARS, MAX_SEARCH_CHARS, ServingSettings
from yiwang.snapshot import NotPublished, current_snapshot

TEXT = r"^[^\x00-\x1f\x7f]*$"  # search text: anything printable
PUBLIC_CACHE = "public, max-age=60"
PRIVATE_CACHE = "private, no-cache"
_VALIDATOR_HEADERS = ("cache-control", "vary", "etag", "last-modified")


# The marts each route reads, for the docs site (yiwang.publish links each mart's page to its routes): route ->
# (OpenAPI tag, operationId, marts). tests/serving/test_units.py checks it against the app's OpenAPI.
ROUTE_MARTS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "/v1/catalog": ("catalog", "catalog_v1_catalog_get", ("mart_catalog.service_catalog",)),
    "/v1/catalog/{item_code}": (
        "catalog",
        "item_v1_catalog__item_code__get",
        ("mart_catalog.service_catalog", "mart_catalog.approval_on_time_by_item_period"),
    ),
    "/v1/dashboards/communities": (
        "dashboards",
        "community_index_v1_dashboards_communities_get",
        (
            "mart_governance.governance_by_community_month",
            "mart_governance.governance_by_grid_month",
            "mart_party.party_check_in_rate_by_community",
        ),
    ),
    "/v1/dashboards/grids/{grid_code}": (
        "dashboards",
        "grid_v1_dashboards_grids__grid_code__get",
        ("mart_governance.governance_by_grid_month",),
    ),
    "/v1/dashboards/communities/{community_code}": (
        "dashboards",
        "community_v1_dashboards_communities__community_code__get",
        (
            "mart_governance.governance_by_community_month",
            "mart_demands.demands_by_department_community",
            "mart_property.property_estate_yearly",
            "mart_party.party_check_in_rate_by_community",
        ),
    ),
    "/v1/departments/{department_uscc}/performance": (
        "departments",
        "department_v1_departments__department_uscc__performance_get",
        (
            "mart_governance.governance_by_department_month",
            "mart_catalog.service_catalog",
            "mart_demands.demands_by_department_community",
        ),
    ),
    "/v1/residents/{resident_key}": (
        "residents",
        "resident_v1_residents__resident_key__get",
        ("mart_residents.resident_services",),
    ),
}


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {s: {"model": ErrorBody, "description": _WHY[s]} for s in statuses}


_WHY = {
    401: "No or unknown API key",
    403: "The key may not read this",
    404: "No such object",
    422: "Invalid parameters",
    429: "Rate limit: retry after Retry-After seconds",
    500: "Internal error",
    503: "Nothing published yet",
}
PUBLIC_ERRORS = _errors(404, 422, 429, 500, 503)
PROTECTED_ERRORS = _errors(401, 403, 404, 422, 429, 500, 503)


def _validators(
    request: Request, response: Response, version: queries.Version, cache: str
) -> Response | None:
    """ETag (the publish's build id and the request) and Last-Modified (the publish); 304 when If-None-Match
    names the current ETag."""
    headers = {"Cache-Control": cache}
    if cache == PRIVATE_CACHE:
        headers["Vary"] = "X-API-Key"
    if version.build_id:
        basis = f"{version.build_id}|{request.url.path}|{sorted(request.query_params.multi_items())}"
        headers["ETag"] = '"' + hashlib.sha256(basis.encode()).hexdigest()[:32] + '"'
    if version.published_at:
        headers["Last-Modified"] = format_datetime(version.published_at, usegmt=True)
    response.headers.update(headers)
    etag = headers.get("ETag")
    asked = request.headers.get("if-none-match")
    if etag and asked:
        tags = {t.strip().removeprefix("W/") for t in asked.split(",")}
        if etag in tags or "*" in tags:
            return Response(status_code=304, headers=headers)
    return None


class ResponseCache:
    """Public answers of a publish, serialised, least recently used first out past ``max_bytes``.

    A publish never changes (a new one is a new snapshot and a new build id), so a public request answers the same
    bytes until the next publish: the key is the build id, the path and the query (as the ETag's), and the answer
    of a miss is serialised once here instead of by FastAPI on every request. Keyed routes are never cached."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.hits = self.misses = 0
        self._entries: OrderedDict[tuple[str, str, str], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str]) -> bytes | None:
        with self._lock:
            body = self._entries.get(key)
            if body is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return body

    def put(self, key: tuple[str, str, str], body: bytes) -> None:
        if len(body) > self.max_bytes // 8:  # one answer may take an eighth of the cache at most
            return
        with self._lock:
            old = self._entries.pop(key, None)
            self.size += len(body) - (len(old) if old is not None else 0)
            self._entries[key] = body
            while self.size > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self.size -= len(dropped)


def build_router(cfg: ServingSettings) -> APIRouter:
    router = APIRouter()
    k = cfg.min_cell
    reader_settings = cfg.reader_settings
    snapshots = queries.SnapshotConnections()
    answers = ResponseCache(cfg.cache_bytes)

    def read(
        request: Request,
        response: Response,
        cache: str,
        fetch: Callable[[queries.Reader, queries.Version], Any],
        model: type[BaseModel] | None = None,
    ) -> Any:  # the body, or a Response (304, or a public answer serialised with ``model``)
        try:
            with queries.published(reader_settings, snapshots) as (reader, version):
                not_modified = _validators(request, response, version, cache)
                if not_modified is not None:
                    return not_modified
                if model is None or cache != PUBLIC_CACHE or not version.build_id or not answers.max_bytes:
                    return fetch(reader, version)
                key = (version.build_id, request.url.path, str(sorted(request.query_params.multi_items())))
                body = answers.get(key)
                if body is None:
                    body = model.model_validate(fetch(reader, version)).model_dump_json().encode()
                    answers.put(key, body)
                headers = {h: v for h, v in response.headers.items() if h in _VALIDATOR_HEADERS}
                return Response(body, media_type="application/json", headers=headers)
        except NotPublished as e:
            raise ApiError(503, str(e)) from e

    def found(value: Any, what: str) -> Any:
        if value is None:
            raise ApiError(404, f"no such {what}")
        return value

    @router.get("/health", response_model=Health, tags=["meta"], responses=_errors(429, 500))
    def health() -> dict[str, Any]:
        """Liveness, and whether a build has been published."""
        published = current_snapshot(cfg.hub) is not None if cfg.hub.is_duckdb else True
        return {"status": "ok", "published": published}

    @router.get("/v1/catalog", response_model=CatalogPage, tags=["catalog"], responses=PUBLIC_ERRORS)
    def catalog(
        request: Request,
        response: Response,
        q: Annotated[
            str | None,
            Query(max_length=MAX_SEARCH_CHARS, pattern=TEXT, description="Name contains (case-insensitive)."),
        ] = None,
        category: Annotated[
            str | None,
            Query(max_length=MAX_SEARCH_CHARS, pattern=TEXT, description="事项类型 / life category."),
        ] = None,
        department: Annotated[
            str | None,
            Query(
                max_length=MAX_SEARCH_CHARS,
                pattern=TEXT,
                description="Department credit code, or name contains.",
            ),
        ] = None,
        community: Annotated[
            str | None,
            Query(
                max_length=MAX_SEARCH_CHARS, pattern=TEXT, description="Community name: items offered there."
            ),
        ] = None,
        kind: Annotated[Literal["government", "life"] | None, Query(description="Item kind.")] = None,
        limit: Annotated[int, Query(ge=1, le=cfg.max_page, description="Page size.")] = 50,
        cursor: Annotated[
            str | None,
            Query(
                max_length=MAX_CURSOR_CHARS,
                pattern=r"^[A-Za-z0-9_-]*$",
                description="next_cursor of the last page.",
            ),
        ] = None,
    ) -> Any:
        """The service catalog (政务服务 and 生活服务 items), sorted by item code, paged by an opaque cursor."""
        query = queries.CatalogQuery(q or None, category or None, department or None, community or None, kind)
        after, page = None, 0
        if cursor:
            try:
                after, page = queries.decode_cursor(cursor, query, cfg.max_pages)
            except queries.BadCursor as e:  # no such page (a valid-looking string is no request error)
                raise ApiError(404, str(e)) from e

        def fetch(reader: queries.Reader, version: queries.Version) -> dict[str, Any]:
            items, more = queries.catalog_page(reader, query, limit, after, k, version.lookups)
            nxt = queries.encode_cursor(items[-1]["item_code"], page + 1, query) if more and items else None
            return {"items": items, "limit": limit, "next_cursor": nxt}

        return read(request, response, PUBLIC_CACHE, fetch, CatalogPage)

    @router.get(
        "/v1/catalog/{item_code}", response_model=ItemDetail, tags=["catalog"], responses=PUBLIC_ERRORS
    )
    def item(
        request: Request,
        response: Response,
        item_code: Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")],
        period: Annotated[
            Literal["month", "quarter", "year"], Query(description="Period of the figures.")
        ] = "month",
    ) -> Any:
        """One catalog item with its figures by calendar period (government items)."""
        return read(
            request,
            response,
            PUBLIC_CACHE,
            lambda r, v: found(queries.item_detail(r, item_code, period, k, v.lookups), "item"),
            ItemDetail,
        )

    @router.get(
        "/v1/dashboards/grids/{grid_code}",
        response_model=GridDashboard,
        tags=["dashboards"],
        responses=PUBLIC_ERRORS,
    )
    def grid(
        request: Request, response: Response, grid_code: Annotated[str, Path(pattern=r"^[0-9]{15}$")]
    ) -> Any:
        """A grid's (网格) events by month: on-time rate, satisfaction, time to close. Public: small cells
        suppressed."""
        return read(
            request,
            response,
            PUBLIC_CACHE,
            lambda r, v: found(queries.grid_dashboard(r, grid_code, k, v.lookups), "grid"),
            GridDashboard,
        )

    @router.get(
        "/v1/dashboards/communities",
        response_model=CommunityIndex,
        tags=["dashboards"],
        responses=PUBLIC_ERRORS,
    )
    def community_index(request: Request, response: Response) -> Any:
        """Every community (社区) with a dashboard, its street and its grids (网格): where a portal starts."""
        return read(
            request,
            response,
            PUBLIC_CACHE,
            lambda r, _: {"communities": queries.communities(r)},
            CommunityIndex,
        )

    @router.get(
        "/v1/dashboards/communities/{community_code}",
        response_model=CommunityDashboard,
        tags=["dashboards"],
        responses=PUBLIC_ERRORS,
    )
    def community(
        request: Request, response: Response, community_code: Annotated[str, Path(pattern=r"^[0-9]{12}$")]
    ) -> Any:
        """A community's (社区) events by month, demands, property complaints per 100 households by year and the
        Party members' check-in rate. Public: small cells suppressed."""
        return read(
            request,
            response,
            PUBLIC_CACHE,
            lambda r, v: found(queries.community_dashboard(r, community_code, k, v.lookups), "community"),
            CommunityDashboard,
        )

    @router.get(
        "/v1/departments/{department_uscc}/performance",
        response_model=DepartmentPerformance,
        tags=["departments"],
        responses=PROTECTED_ERRORS,
    )
    def department(
        request: Request,
        response: Response,
        department_uscc: Annotated[
            str, Path(pattern=r"^[0-9A-Z]{18}$", description="Unified social credit code.")
        ],
        key: Annotated[ApiKey, Depends(needs("departments:read"))],
    ) -> Any:
        """A department's events by month, its catalog items' figures and its demands by community. API key
        with scope departments:read, for the key's own department (403 for another's)."""
        if not key.covers(department_uscc):
            raise ApiError(403, "this key may not read another department's figures")
        return read(
            request,
            response,
            PRIVATE_CACHE,
            lambda r, _: found(queries.department_performance(r, department_uscc), "department"),
        )

    @router.get(
        "/v1/residents/{resident_key}",
        response_model=ResidentView,
        tags=["residents"],
        responses=PROTECTED_ERRORS,
    )
    def resident(
        request: Request,
        response: Response,
        resident_key: Annotated[
            str, Path(pattern=r"^[A-Za-z0-9_:-]{1,64}$", description="identity resident_key.")
        ],
        key: Annotated[ApiKey, Depends(needs("residents:read"))],
    ) -> Any:
        """The once-only view (一次都不跑) of one resident: which systems hold their data, which services they
        used. Masked (name 张*); API key with scope residents:read."""

        def fetch(reader: queries.Reader, _: queries.Version) -> Any:
            if not queries.has_table(reader, "mart_residents", "resident_services"):
                raise ApiError(
                    404, "the resident view is not published in this city (restricted marts are off)"
                )
            return found(queries.resident_view(reader, resident_key), "resident")

        return read(request, response, PRIVATE_CACHE, fetch)

    return router
