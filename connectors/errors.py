"""Errors raised by the connectors. Every message names the system, the table and where the data lives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from connectors.landing import LedgerEntry, get_cursor, record_failure
from yiwang.contracts import Table
from yiwang.warehouse import Warehouse


class ConnectorError(RuntimeError):
    """A table/resource/file of one system could not be extracted."""


class SourceUnavailableError(ConnectorError):
    """The source could not be reached or answered with an error (after the configured retries)."""


class SourceTableMissingError(ConnectorError):
    """A contract table does not exist at the source."""


class SchemaDriftError(ConnectorError):
    """The source no longer has a column the contract promises."""


@dataclass(frozen=True)
class TableFailure:
    system: str
    table: str
    error: BaseException

    def __str__(self) -> str:
        return f"{self.system}.{self.table}: {type(self.error).__name__}: {self.error}"


def fail_every_table(wh: Warehouse, tables: list[Table], error: BaseException) -> list[TableFailure]:
    """The source could not even be opened: one failed ledger row per table, cursors unchanged."""
    for t in tables:
        record_failure(wh, t, f"{type(error).__name__}: {error}", get_cursor(wh, t.system, t.name))
    return [TableFailure(t.system, t.name, error) for t in tables]


def land_each(
    tables: list[Table],
    land: Callable[[Table], LedgerEntry],
    label: str,
    progress: Callable[[str, int, int | None], None],
) -> tuple[list[LedgerEntry], list[TableFailure]]:
    """Land every table with ``land``; a failing one does not stop the others. Returns (entries, failures)."""
    entries: list[LedgerEntry] = []
    failures: list[TableFailure] = []
    for i, t in enumerate(tables):
        progress(label, i, len(tables))
        try:
            entries.append(land(t))
        except Exception as e:  # noqa: BLE001 - collected and raised by the caller after all tables
            failures.append(TableFailure(t.system, t.name, e))
    progress(label, len(tables), len(tables))
    return entries, failures


class ExtractError(RuntimeError):
    """Some tables/files of a system failed; the others landed. Raised after the whole system ran."""

    def __init__(self, system: str, failures: list[TableFailure], entries: list[LedgerEntry]) -> None:
        self.system = system
        self.failures = failures
        self.entries = entries
        lines = "\n  ".join(str(f) for f in failures)
        super().__init__(
            f"extract {system}: {len(failures)} load(s) failed, {len(entries)} landed:\n  {lines}"
        )
