"""Cursor values compared as instants.

Sources write cursors in their own format: ISO 8601 with an offset (approval), or
``YYYY-MM-DD HH:MM:SS`` local time (services, SQL sources). The hub stores the maximum exactly as the
source wrote it (so it can be sent back as ``updated_since``) but compares values as points in time.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SOURCE_TZ = ZoneInfo("Asia/Shanghai")  # the contract: a timestamp without offset is local time


def parse_instant(value: object) -> dt.datetime | None:
    """A cursor value as an aware datetime, or None when it is not a recognisable timestamp."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        d = value
    elif isinstance(value, dt.date):
        d = dt.datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        if not text:
            return None
        try:
            d = dt.datetime.fromisoformat(text.replace("/", "-"))
        except ValueError:
            return None
    return d.replace(tzinfo=SOURCE_TZ) if d.tzinfo is None else d


class MaxCursor:
    """Tracks the latest cursor value seen, kept in the source's own text form."""

    def __init__(self, start: str | None = None) -> None:
        self.text: str | None = start
        self._instant = parse_instant(start)
        self.unparsable = 0

    def offer(self, value: object) -> None:
        if value is None or value == "":
            return
        instant = parse_instant(value)
        if instant is None:
            self.unparsable += 1
            return
        if self._instant is None or instant > self._instant:
            self._instant = instant
            self.text = value if isinstance(value, str) else _text(value)


def _text(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
