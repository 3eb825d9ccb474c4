"""Extract contract tables from a SQL source (SQLite file, MariaDB/MySQL, PostgreSQL) via SQLAlchemy.

Each table is read incrementally: rows with ``cursor >= last cursor`` (inclusive: rows sharing the boundary
timestamp are not missed; rows read again are harmless because raw dedups by row hash), ordered by the
cursor and streamed in chunks of CHUNK rows, each landed column by column (one Arrow record batch, no Python
object per row), into one :class:`~connectors.landing.TableLoad`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from connectors.cursors import MaxCursor, beyond, cursor_ceiling, parse_instant, read_from
from connectors.errors import (
    SchemaDriftError,
    SourceTableMissingError,
    SourceUnavailableError,
    TableFailure,
    fail_every_table,
    land_each,
)
from connectors.landing import LedgerEntry, TableLoad, get_cursor, record_failure, to_text
from connectors.types import Progress, no_progress
from yiwang.contracts import Table
from yiwang.settings import ConfigError, SourceConfig
from yiwang.warehouse import Warehouse

CHUNK = 10_000


def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - never echo a URL we cannot parse: it may hold a password
        return "<unparsable URL>"


def open_source(source: SourceConfig) -> Engine:
    """An engine for the source. A SQLite file that does not exist is an error (never create an empty one)."""
    if not source.url:
        raise ConfigError(f"source {source.system}: kind sql needs a url in sources.yaml")
    url = make_url(source.url)
    if url.get_backend_name() == "sqlite":
        db = url.database
        if not db or db == ":memory:" or not Path(db).is_file():
            raise SourceUnavailableError(
                f"source {source.system}: SQLite database file {db!r} does not exist ({safe_url(source.url)})"
            )
    return sa.create_engine(url, pool_pre_ping=True)


class SqlTableReader:
    """Reads one contract table from an open engine."""

    def __init__(self, engine: Engine, source: SourceConfig, table: Table) -> None:
        self.engine = engine
        self.source = source
        self.table = table
        self._cursor_type: sa.types.TypeEngine[Any] | None = None
        self.where = f"{source.system}.{table.name} at {safe_url(str(source.url))}"

    def source_columns(self) -> list[str]:
        try:
            insp = sa.inspect(self.engine)
            if not insp.has_table(self.table.name):
                raise SourceTableMissingError(
                    f"table {self.table.name} does not exist at the source ({self.where})"
                )
            cols = insp.get_columns(self.table.name)
            for c in cols:
                if self.table.cursor and c["name"].lower() == self.table.cursor.lower():
                    self._cursor_type = c["type"]
            return [c["name"] for c in cols]
        except sa.exc.OperationalError as e:
            raise SourceUnavailableError(f"cannot reach {self.where}: {e.orig or e}") from e

    def column_map(self, columns: list[str]) -> dict[str, str]:
        """source column -> landing name: contract names win, matched case-insensitively (MySQL)."""
        contract = {c.lower(): c for c in self.table.columns}
        return {c: contract.get(c.lower(), c) for c in columns}

    def check_drift(self, mapping: dict[str, str]) -> None:
        missing = [c for c in self.table.columns if c not in set(mapping.values())]
        if missing:
            raise SchemaDriftError(
                f"schema drift in {self.where}: contract column(s) {', '.join(missing)} missing at the source "
                f"(source has: {', '.join(mapping)})"
            )

    def select(self, columns: list[str], cursor: str | None) -> sa.Select[Any]:
        # Untyped columns: values come back as the driver gives them (no SQLAlchemy result processing),
        # so a SQLite text timestamp stays the text the source wrote.
        stmt = sa.select(*[sa.column(c) for c in columns]).select_from(sa.table(self.table.name))
        cur = self.table.cursor
        if cur:
            if cursor is not None:
                stmt = stmt.where(sa.column(cur) >= sa.bindparam("cursor_value", self.cursor_param(cursor)))
            stmt = stmt.order_by(sa.column(cur))
        return stmt

    def rows_missing_from_raw(self, conn: Any, load: TableLoad) -> int:
        """Source keys that raw has never seen: rows that arrived late, beyond the lookback window."""
        src = conn.execute(sa.select(sa.func.count()).select_from(sa.table(self.table.name))).scalar() or 0
        raw = load.distinct_keys_in_raw()
        return max(int(src) - raw, 0)

    def cursor_param(self, cursor: str) -> Any:
        """The stored cursor text as a bind value.

        SQLite compares the text the source wrote, so it gets the text back (binding a datetime would render
        SQLAlchemy's own format, with microseconds, and miss rows sharing the boundary value). A server column
        of a date/time type gets a datetime; any other column type the text.
        """
        if self.engine.dialect.name == "sqlite" or self._cursor_type is None:
            return cursor
        try:
            is_time = issubclass(self._cursor_type.python_type, dt.date)
        except NotImplementedError:
            is_time = False
        if is_time:
            try:
                return dt.datetime.fromisoformat(cursor)
            except ValueError:
                return cursor
        return cursor


def extract_sql_table(
    wh: Warehouse,
    source: SourceConfig,
    table: Table,
    engine: Engine,
    progress: Progress = no_progress,
) -> LedgerEntry:
    """Land one table incrementally. On any failure a failed ledger row is written and the error re-raised."""
    cursor_before = get_cursor(wh, table.system, table.name)
    reader = SqlTableReader(engine, source, table)
    try:
        ceiling = cursor_ceiling(source.options)
        poisoned = beyond(
            cursor_before, ceiling
        )  # a cursor moved into the future by an earlier run: start over
        cursor_from = None if poisoned else cursor_before
        columns = reader.source_columns()
        mapping = reader.column_map(columns)
        reader.check_drift(mapping)
        extras = [c for c, name in mapping.items() if name not in table.columns]
        start = read_from(cursor_from, source.options)
        stmt = reader.select(columns, start)
        landing_names = [mapping[c] for c in columns]
        cur_idx = landing_names.index(table.cursor) if table.cursor else None
        before = parse_instant(cursor_from)
        with TableLoad(wh, table, cursor_before=cursor_before) as load:
            max_cursor = MaxCursor(cursor_from, ceiling)
            window_rows = 0
            with engine.connect() as conn:
                result = conn.execution_options(stream_results=True, yield_per=CHUNK).execute(stmt)
                for chunk in result.partitions(CHUNK):
                    # one batch, column by column: no Python dict per row
                    columns = list(zip(*chunk, strict=True))
                    load.add_columns(landing_names, columns)
                    if cur_idx is not None:
                        for i, value in enumerate(columns[cur_idx]):
                            if max_cursor.offer(to_text(value)):
                                load.flag_future(dict(zip(landing_names, chunk[i], strict=True)), value)
                            if before is not None and (t := max_cursor.last) and t < before:
                                window_rows += 1
                    progress(table.raw_table, load.rows_read, None)
                missing = reader.rows_missing_from_raw(conn, load) if start is not None else 0
            load.cursor_after = max_cursor.text
            load.reset_cursor = poisoned
            notes = []
            if poisoned:
                notes.append(
                    f"stored cursor {cursor_before} lies beyond extraction time: read from the beginning"
                )
            if (future := max_cursor.note(table.cursor)) is not None:
                notes.append(future)
            if window_rows:
                notes.append(f"lookback re-read {window_rows} row(s) older than the cursor")
            if missing:
                notes.append(
                    f"LATE: {missing} source row(s) older than the lookback window are not in raw; "
                    f"run `yiwang extract --full-refresh {table.system}`"
                )
            if extras:
                notes.append(f"columns beyond the contract landed: {', '.join(extras)}")
            load.message = "; ".join(notes) or None
        assert load.entry is not None
        return load.entry
    except sa.exc.OperationalError as e:
        err = SourceUnavailableError(f"reading {reader.where} failed: {e.orig or e}")
        record_failure(wh, table, str(err), cursor_before)
        raise err from e
    except Exception as e:
        record_failure(wh, table, f"{type(e).__name__}: {e}", cursor_before)
        raise


def extract_sql(
    wh: Warehouse,
    source: SourceConfig,
    tables: list[Table],
    progress: Progress = no_progress,
) -> tuple[list[LedgerEntry], list[TableFailure]]:
    """Land every table; a failing table does not stop the others. Returns (entries, failures)."""
    try:
        engine = open_source(source)
    except Exception as e:
        return [], fail_every_table(wh, tables, e)
    try:
        return land_each(
            tables, lambda t: extract_sql_table(wh, source, t, engine, progress), "tables", progress
        )
    finally:
        engine.dispose()
