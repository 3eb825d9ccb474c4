"""The API's settings, read from the environment here and nowhere else in serving/.

YIWANG_SERVING_URL            what the API reads: a PostgreSQL URL (a reader role's) or unset = the warehouse
                              (YIWANG_WAREHOUSE_URL); on DuckDB the API always reads the published snapshot
YIWANG_SERVING_KEYS           the API keys file (hashes only), default $YIWANG_HOME/serving/keys.json
YIWANG_SERVING_DOCS           1 (default) serves /docs and /openapi.json, 0 turns both off
YIWANG_SERVING_MIN_CELL       k of small-cell suppression on public aggregates (default 5): a count below k and
                              the rates computed from it answer null with ``suppressed: true``
YIWANG_SERVING_RATE           requests per second per caller (API key, else client IP), default 50
YIWANG_SERVING_BURST          bucket size (requests allowed at once), default 100
YIWANG_SERVING_MAX_PAGE       largest page size a caller may ask for (default 200)
YIWANG_SERVING_MAX_PAGES      how deep a cursor may walk (pages of the largest size; default 1000)
YIWANG_SERVING_CORS           comma-separated origins allowed to call from a browser (default none)
YIWANG_SERVING_CACHE_MB       memory for serialised public answers of the current publish (default 64; 0 = none)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from yiwang.settings import ConfigError, Settings, get_settings

MAX_BODY_BYTES = 4096  # the API is read-only: a request body has nothing to carry
MAX_URL_BYTES = 2048  # path + query string
MAX_CURSOR_CHARS = 512
MAX_SEARCH_CHARS = 64


@dataclass(frozen=True)
class ServingSettings:
    hub: Settings
    keys_file: Path
    docs: bool = True
    min_cell: int = 5
    rate: float = 50.0
    burst: int = 100
    max_page: int = 200
    max_pages: int = 1000
    cors_origins: tuple[str, ...] = ()
    serving_url: str | None = (
        None  # PostgreSQL: a reader role's URL (YIWANG_SERVING_URL); None = the warehouse's
    )
    cache_mb: int = 64  # serialised public answers of the current publish (serving.routes.ResponseCache)
    site_dir: Path | None = (
        None  # the docs site served at /docs-site/; None = the build's ($YIWANG_HOME/site)
    )

    @property
    def cache_bytes(self) -> int:
        return self.cache_mb * 1024 * 1024

    @property
    def docs_site(self) -> Path:
        return self.site_dir or self.hub.site_dir

    @property
    def reader_settings(self) -> Settings:
        """The hub settings the reader opens the marts with (the serving URL in place of the warehouse's)."""
        if self.serving_url and not self.hub.is_duckdb:
            return replace(self.hub, warehouse_url=self.serving_url)
        return self.hub


def _int(name: str, default: int, lo: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = lo - 1
    if value < lo:
        raise ConfigError(f"{name} must be an integer >= {lo}, not {raw!r}")
    return value


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise ConfigError(f"{name} must be a positive number, not {raw!r}")
    return value


def load_serving_settings(hub: Settings | None = None) -> ServingSettings:
    hub = hub or get_settings()
    docs = (os.environ.get("YIWANG_SERVING_DOCS") or "1").strip().lower()
    if docs not in ("0", "1", "true", "false", "yes", "no", "on", "off"):
        raise ConfigError(f"YIWANG_SERVING_DOCS must be 1 or 0, not {docs!r}")
    url = os.environ.get("YIWANG_SERVING_URL")
    if url and not url.startswith("postgresql"):
        raise ConfigError("YIWANG_SERVING_URL must be a postgresql:// URL (a reader role's)")
    return ServingSettings(
        hub=hub,
        keys_file=Path(os.environ.get("YIWANG_SERVING_KEYS") or hub.home / "serving" / "keys.json"),
        docs=docs in ("1", "true", "yes", "on"),
        min_cell=_int("YIWANG_SERVING_MIN_CELL", 5, 1),
        rate=_float("YIWANG_SERVING_RATE", 50.0),
        burst=_int("YIWANG_SERVING_BURST", 100, 1),
        max_page=_int("YIWANG_SERVING_MAX_PAGE", 200, 1),
        max_pages=_int("YIWANG_SERVING_MAX_PAGES", 1000, 1),
        cache_mb=_int("YIWANG_SERVING_CACHE_MB", 64, 0),
        serving_url=url or None,
        cors_origins=tuple(
            o.strip() for o in (os.environ.get("YIWANG_SERVING_CORS") or "").split(",") if o.strip()
        ),
    )
