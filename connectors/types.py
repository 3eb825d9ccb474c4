"""Small shared types."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, int, "int | None"], None]
"""``progress(message, done, total)``: called on long steps; total is None when unknown."""


def no_progress(message: str, done: int, total: int | None) -> None:
    return None
