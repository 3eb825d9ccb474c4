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
    """Tracks the latest cursor value seen, kept in the source's own text form.

    With a ``ceiling`` (extraction time plus a small skew, :func:`cursor_ceiling`) a value beyond it never moves
    the cursor: one row dated 2099 would otherwise hide every row updated later. :meth:`offer` says so.
    """

    def __init__(self, start: str | None = None, ceiling: dt.datetime | None = None) -> None:
        self.text: str | None = start
        self._instant = parse_instant(start)
        self.ceiling = ceiling
        self.unparsable = 0
        self.future = 0
        self.future_max: str | None = None
        self._future_max: dt.datetime | None = None
        self.last: dt.datetime | None = (
            None  # the instant of the value offered last (None: none or unparsable)
        )

    def offer(self, value: object) -> bool:
        """Take ``value`` into account; True when it lies beyond the ceiling (a future-dated row)."""
        if value is None or value == "":
            self.last = None
            return False
        instant = self.last = parse_instant(value)
        if instant is None:
            self.unparsable += 1
            return False
        if self.ceiling is not None and instant > self.ceiling:
            self.future += 1
            if self._future_max is None or instant > self._future_max:
                self._future_max, self.future_max = instant, _text(value)
            return True
        if self._instant is None or instant > self._instant:
            self._instant = instant
            self.text = value if isinstance(value, str) else _text(value)
        return False

    def note(self, column: str | None) -> str | None:
        """The ledger note for future-dated rows, if any."""
        if not self.future:
            return None
        return (
            f"FUTURE: {self.future} row(s) with {column} beyond extraction time + skew (latest "
            f"{self.future_max}): landed, cursor not moved past {self.ceiling:%Y-%m-%d %H:%M:%S%z}; "
            "listed in ops.future_rows"
        )


def _text(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


DEFAULT_LOOKBACK_HOURS = 72.0
DEFAULT_FUTURE_SKEW_MINUTES = 5.0


def _non_negative(options: dict[str, object], name: str, default: float, unit: str) -> float:
    """A non-negative number option of a source (sources.yaml), with a clear error naming it."""
    value = options.get(name, default)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number of {unit}, not {value!r}") from None
    if number < 0:
        raise ValueError(f"{name} must not be negative")
    return number


def future_skew_minutes(options: dict[str, object]) -> float:
    """How far past extraction time a cursor may move (``future_skew_minutes`` in sources.yaml, default 5):
    room for a source clock slightly ahead of ours, not for rows dated in the future."""
    return _non_negative(options, "future_skew_minutes", DEFAULT_FUTURE_SKEW_MINUTES, "minutes")


def cursor_ceiling(options: dict[str, object], now: dt.datetime | None = None) -> dt.datetime:
    """The latest instant a cursor may reach: extraction time plus the skew (aware, UTC)."""
    now = now or dt.datetime.now(dt.UTC)
    return now + dt.timedelta(minutes=future_skew_minutes(options))


def beyond(cursor: str | None, ceiling: dt.datetime) -> bool:
    """A stored cursor already past the ceiling (poisoned by a future-dated row before the ceiling existed)."""
    instant = parse_instant(cursor)
    return instant is not None and instant > ceiling


def lookback_hours(options: dict[str, object]) -> float:
    """The source's lookback (``lookback_hours`` in sources.yaml, default 72 h; 0 disables it)."""
    return _non_negative(options, "lookback_hours", DEFAULT_LOOKBACK_HOURS, "hours")


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
