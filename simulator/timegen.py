"""Vectorised timestamps inside the simulated span and their text formats."""

from __future__ import annotations

from datetime import date

import numpy as np

SPAN_START = date(2024, 1, 1)
SPAN_END = date(2025, 12, 31)
SPAN_YEARS = SPAN_END.year - SPAN_START.year + 1


def span(years: int = SPAN_YEARS) -> tuple[date, date]:
    """The simulated window: `years` whole calendar years from SPAN_START (default: the two of 2024-2025)."""
    if not 1 <= years <= 10:
        raise ValueError(f"years must be between 1 and 10, got {years}")
    return SPAN_START, date(SPAN_START.year + years - 1, 12, 31)


def day_range(start: date, end: date) -> tuple[np.datetime64, int]:
    first = np.datetime64(start, "D")
    return first, int((np.datetime64(end, "D") - first).astype(int)) + 1


def office_times(rng: np.random.Generator, n: int, start: date, end: date) -> np.ndarray:
    """Timestamps (datetime64[s]) on random days of the span, mostly 08:00-20:00."""
    first, ndays = day_range(start, end)
    days = first + rng.integers(0, ndays, size=n).astype("timedelta64[D]")
    secs = np.where(
        rng.random(n) < 0.9, rng.integers(8 * 3600, 20 * 3600, size=n), rng.integers(0, 86400, size=n)
    )
    return days.astype("datetime64[s]") + secs.astype("timedelta64[s]")


def add_seconds(ts: np.ndarray, secs: np.ndarray) -> np.ndarray:
    return ts + np.asarray(secs, dtype=np.int64).astype("timedelta64[s]")


def fmt_local(ts: np.ndarray) -> np.ndarray:
    """'YYYY-MM-DD HH:MM:SS' (local time, no offset); NaT -> None."""
    out = np.datetime_as_string(ts.astype("datetime64[s]"), unit="s").astype(object)
    mask = np.isnat(ts)
    out = np.array([s.replace("T", " ") for s in out], dtype=object)
    out[mask] = None
    return out


def fmt_iso_offset(ts: np.ndarray) -> np.ndarray:
    """ISO 8601 with the +08:00 offset; NaT -> None."""
    out = np.datetime_as_string(ts.astype("datetime64[s]"), unit="s").astype(object)
    mask = np.isnat(ts)
    out = np.array([s + "+08:00" for s in out], dtype=object)
    out[mask] = None
    return out


def fmt_date(ts: np.ndarray) -> np.ndarray:
    out = np.datetime_as_string(ts.astype("datetime64[D]"), unit="D").astype(object)
    out[np.isnat(ts)] = None
    return out
