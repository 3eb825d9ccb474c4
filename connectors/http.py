"""Extract resources from a paged HTTP API (the approval and services platforms).

``GET {base_url}/api/v1/{resource}?updated_since=...&page_size=...&page_token=...`` until
``next_page_token`` is null. Transport faults (429 with Retry-After, 502/503/504, dropped connections) are
retried by urllib3's :class:`~urllib3.util.Retry`; a page served twice is recognised by its exact records and
skipped. Records go into the load's transaction as pages arrive and commit only after the last page, so a
source that stays down leaves no rows, no cursor move, and one failed ledger row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util import Retry

from connectors.cursors import MaxCursor, beyond, cursor_ceiling, parse_instant, read_from
from connectors.errors import SourceUnavailableError, TableFailure, fail_every_table, land_each
from connectors.landing import LedgerEntry, TableLoad, get_cursor, record_failure
from connectors.types import Progress, no_progress
from yiwang.contracts import Table
from yiwang.settings import ConfigError, SourceConfig
from yiwang.warehouse import Warehouse

RETRY_STATUSES = (429, 502, 503, 504)
MAX_PAGE_SIZE = 500


class CappedRetry(Retry):
    """urllib3's Retry, honouring Retry-After up to a limit (a server asking for an hour would stall the DAG)."""

    MAX_RETRY_AFTER = 300.0

    def get_retry_after(self, response: Any) -> float | None:
        value = super().get_retry_after(response)
        return None if value is None else min(value, self.MAX_RETRY_AFTER)


def _opt(source: SourceConfig, name: str, default: float) -> float:
    value = source.options.get(name, default)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"source {source.system}: option {name} must be a number, not {value!r}") from None


def make_session(source: SourceConfig) -> requests.Session:
    """A session with retries (options ``retries``, ``backoff``, ``backoff_max``) and the source's auth header."""
    retries = int(_opt(source, "retries", 5))
    retry = CappedRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET"}),
        backoff_factor=_opt(source, "backoff", 0.5),
        backoff_max=_opt(source, "backoff_max", 30),
        respect_retry_after_header=True,
        raise_on_status=True,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["Accept"] = "application/json"
    session.headers.update(auth_headers(source))
    return session


def auth_headers(source: SourceConfig) -> dict[str, str]:
    if source.auth in (None, "", "none"):
        return {}
    secret = source.credential()
    if source.auth == "bearer":
        return {"Authorization": f"Bearer {secret}"}
    if source.auth == "api_key":
        header = str(source.options.get("api_key_header", "X-API-Key"))
        return {header: secret}
    raise ConfigError(f"source {source.system}: auth must be bearer or api_key, not {source.auth!r}")


class PageFetcher:
    """Iterates the records of one resource, page by page."""

    def __init__(self, session: requests.Session, source: SourceConfig, resource: str) -> None:
        if not source.base_url:
            raise ConfigError(f"source {source.system}: kind http needs a base_url in sources.yaml")
        self.session = session
        self.url = f"{source.base_url.rstrip('/')}/api/v1/{resource}"
        self.page_size = max(1, min(MAX_PAGE_SIZE, int(_opt(source, "page_size", 100))))
        self.timeout = (_opt(source, "connect_timeout", 10), _opt(source, "timeout", 60))
        self.where = f"{source.system}.{resource} at {self.url}"
        self.pages = 0

    def pages_since(self, updated_since: str | None) -> Iterator[list[dict[str, Any] | Any]]:
        token: str | None = None
        while True:
            params: dict[str, Any] = {"page_size": self.page_size}
            if updated_since is not None:
                params["updated_since"] = updated_since
            if token is not None:
                params["page_token"] = token
            body = self._get(params)
            items = body.get("items")
            if not isinstance(items, list):
                raise SourceUnavailableError(
                    f"{self.where}: response has no 'items' list (page {self.pages + 1})"
                )
            self.pages += 1
            yield items
            token = body.get("next_page_token")
            if token in (None, ""):
                return

    def _get(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            resp = self.session.get(self.url, params=params, timeout=self.timeout)
        except requests.exceptions.RetryError as e:
            raise SourceUnavailableError(
                f"{self.where}: still failing after the configured retries: {e}"
            ) from e
        except requests.exceptions.RequestException as e:
            raise SourceUnavailableError(f"{self.where}: request failed: {type(e).__name__}: {e}") from e
        if resp.status_code != 200:
            raise SourceUnavailableError(
                f"{self.where}: HTTP {resp.status_code} {resp.reason}: {resp.text[:300]!r}"
            )
        try:
            body = resp.json()
        except ValueError as e:
            raise SourceUnavailableError(f"{self.where}: response is not JSON: {resp.text[:300]!r}") from e
        if not isinstance(body, dict):
            raise SourceUnavailableError(f"{self.where}: response is not a JSON object")
        return body


def _fingerprint(record: dict[str, Any]) -> bytes:
    """sha256 of the whole record (keys sorted): equal for a record served again, whatever its field order."""
    return hashlib.sha256(
        json.dumps(record, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).digest()


def extract_resource(
    wh: Warehouse,
    source: SourceConfig,
    table: Table,
    session: requests.Session,
    progress: Progress = no_progress,
) -> LedgerEntry:
    """Land one resource incrementally (``updated_since`` = the stored cursor, inclusive)."""
    cursor_before = get_cursor(wh, table.system, table.name)
    fetcher = PageFetcher(session, source, table.name)
    try:
        ceiling = cursor_ceiling(source.options)
        poisoned = beyond(
            cursor_before, ceiling
        )  # a cursor moved into the future by an earlier run: start over
        cursor_from = None if poisoned else cursor_before
        with TableLoad(wh, table, cursor_before=cursor_before) as load:
            # digests of the records taken: a record's fingerprint covers its key and cursor, so an equal digest
            # is the same record served again (32 bytes a record, not its fields)
            seen: set[bytes] = set()
            repeats = 0
            max_cursor = MaxCursor(cursor_from, ceiling)
            before = parse_instant(cursor_from)
            window_rows = 0
            for items in fetcher.pages_since(read_from(cursor_from, source.options)):
                good: list[dict[str, Any]] = []
                for rec in items:
                    if not isinstance(rec, dict):
                        load.quarantine(rec, "not_an_object", "API record is not a JSON object")
                        continue
                    ident = _fingerprint(rec)
                    if ident in seen:
                        repeats += 1  # a page served again after a retry: a retransmission, not a read
                        continue
                    seen.add(ident)
                    if table.cursor:
                        if max_cursor.offer(rec.get(table.cursor)):
                            load.flag_future(rec, rec.get(table.cursor))
                        if before is not None and (i := parse_instant(rec.get(table.cursor))) and i < before:
                            window_rows += 1
                    good.append(rec)
                load.add_rows(good)
                progress(table.raw_table, load.rows_read, None)
            load.cursor_after = max_cursor.text
            load.reset_cursor = poisoned
            notes = [f"{fetcher.pages} page(s)"]
            if poisoned:
                notes.append(
                    f"stored cursor {cursor_before} lies beyond extraction time: read from the beginning"
                )
            if (future := max_cursor.note(table.cursor)) is not None:
                notes.append(future)
            if window_rows:
                notes.append(f"lookback re-read {window_rows} record(s) older than the cursor")
            if repeats:
                notes.append(f"skipped {repeats} repeated record(s) (pages retransmitted by the source)")
            if max_cursor.unparsable:
                notes.append(f"{max_cursor.unparsable} record(s) with an unparsable {table.cursor}")
            load.message = "; ".join(notes)
        assert load.entry is not None
        return load.entry
    except Exception as e:
        record_failure(wh, table, f"{type(e).__name__}: {e}", cursor_before)
        raise


def extract_http(
    wh: Warehouse,
    source: SourceConfig,
    tables: list[Table],
    progress: Progress = no_progress,
) -> tuple[list[LedgerEntry], list[TableFailure]]:
    """Land every resource; a failing one does not stop the others. Returns (entries, failures)."""
    try:
        session = make_session(source)
    except Exception as e:
        return [], fail_every_table(wh, tables, e)
    with session:
        return land_each(
            tables, lambda t: extract_resource(wh, source, t, session, progress), "resources", progress
        )
