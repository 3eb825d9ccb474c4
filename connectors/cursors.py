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


DEFAULT_LOOKBACK_HOURS = 72.0


def lookback_hours(options: dict[str, object]) -> float:
    """The source's lookback (``lookback_hours`` in sources.yaml, default 72 h; 0 disables it)."""
    value = options.get("lookback_hours", DEFAULT_LOOKBACK_HOURS)
    try:
        hours = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"lookback_hours must be a number of hours, not {value!r}") from None
    if hours < 0:
        raise ValueError("lookback_hours must not be negative")
    return hours


def read_from(cursor: str | None, options: dict[str, object]) -> str | None:
    """Where an incremental read starts: the stored cursor moved back by the lookback window.

    Late rows (written with a cursor value older than the newest one already landed) are picked up when
    they fall inside the window; re-reading rows already landed is harmless, raw keeps each version once.
    ``full_refresh`` in the options reads everything. The value keeps the source's own format.
    """
    if cursor is None or options.get("full_refresh"):
        return None
    hours = lookback_hours(options)
    instant = parse_instant(cursor)
    if instant is None or hours == 0:
        return cursor
    earlier = instant - dt.timedelta(hours=hours)
    text = cursor.strip()
    if "T" in text and ("+" in text[10:] or text.endswith("Z") or "-" in text[10:]):
        return earlier.isoformat(timespec="seconds")
    local = earlier.astimezone(SOURCE_TZ).replace(tzinfo=None)
    return local.isoformat(sep="T" if "T" in text else " ", timespec="seconds")
