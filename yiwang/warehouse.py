"""A thin, two-dialect handle on the warehouse: DuckDB (embedded default) or PostgreSQL.

Stages talk to the warehouse through :class:`Warehouse` so the same loader runs on both. SQL passed to
``execute``/``query`` uses ``?`` placeholders; the PostgreSQL side turns them into ``%s``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pyarrow as pa
from sqlalchemy.engine import make_url

from yiwang.settings import get_settings

_IDENT_OK = re.compile(r"^[^\"\x00]+$")

# Marts are built into `mart_*__build` schemas, gated there and only then published to `mart_*` (the dbt macro
# generate_schema_name adds the suffix when YIWANG_BUILD_SCHEMA_SUFFIX is set). Named here, in the foundation,
# because the gates (expectations/) and the publisher (yiwang.publish) both need it.
BUILD_SUFFIX = "__build"
SUFFIX_ENV = "YIWANG_BUILD_SCHEMA_SUFFIX"


def qident(name: str) -> str:
    """Quote an identifier (schema, table or column)."""
    if not _IDENT_OK.match(name):
        raise ValueError(f"bad identifier {name!r}")
    return '"' + name + '"'


def qname(schema: str, table: str) -> str:
    return f"{qident(schema)}.{qident(table)}"


def qliteral(text: str) -> str:
    """Quote a string literal (single quotes doubled), for the few statements that take no parameters."""
    return "'" + text.replace("'", "''") + "'"


class Tx:
    """One open transaction."""

    dialect: str

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:  # pragma: no cover
        raise NotImplementedError

    def insert_arrow(self, table: str, data: pa.Table) -> None:  # pragma: no cover
        """Append an Arrow table (columns by name) to an existing table (``schema.table`` already quoted)."""
        raise NotImplementedError

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    def columns(self, schema: str, table: str) -> list[str]:
        rows = self.query(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?"
            " order by ordinal_position",
            [schema, table],
        )
        return [r[0] for r in rows]

    def table_exists(self, schema: str, table: str) -> bool:
        return bool(
            self.scalar(
                "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                [schema, table],
            )
        )


class _DuckTx(Tx):
    dialect = "duckdb"

    def __init__(self, con: Any) -> None:
        self.con = con
        self._n = 0

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self.con.execute(sql, list(params) if params is not None else None)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        return self.con.execute(sql, list(params) if params is not None else None).fetchall()

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        self._n += 1
        view = f"_yiwang_arrow_{self._n}"
        self.con.register(view, data)  # scanned in place, no copy through Python objects
        try:
            self.con.execute(f"insert into {table} by name select * from {view}")
        finally:
            self.con.unregister(view)


class _PgTx(Tx):
    dialect = "postgres"

    def __init__(self, con: Any) -> None:
        self.con = con

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s")

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        with self.con.cursor() as cur:
            cur.execute(self._sql(sql) if params else sql, params or None)

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        with self.con.cursor() as cur:
            cur.execute(self._sql(sql) if params else sql, params or None)
            return cur.fetchall()

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        cols = ", ".join(qident(c) for c in data.column_names)
        with self.con.cursor() as cur, cur.copy(f"copy {table} ({cols}) from stdin") as copy:
            for batch in data.to_batches(max_chunksize=10_000):
                for row in zip(*(c.to_pylist() for c in batch.columns), strict=True):
                    copy.write_row(row)


class Warehouse:
    """Open with :func:`open_warehouse`. Use ``with wh.transaction() as tx`` for each unit of work."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = "duckdb" if url.startswith("duckdb") else "postgres"
        self._con: Any = None

    # -- connection -------------------------------------------------------------------------
    def _connect(self) -> Any:
        if self._con is None:
            if self.dialect == "duckdb":
                path = Path(self.url.split(":///", 1)[1])
                path.parent.mkdir(parents=True, exist_ok=True)
                self._con = duckdb.connect(str(path))
                apply_duckdb_limits(self._con)
            else:
                self._con = psycopg.connect(_pg_dsn(self.url))
        return self._con

    def connection(self) -> Any:
        """The driver connection itself (DuckDB or psycopg), opened on first use."""
        return self._connect()

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        con = self._connect()
        if self.dialect == "duckdb":
            con.execute("begin transaction")
            tx: Tx = _DuckTx(con)
            try:
                yield tx
            except BaseException:
                con.execute("rollback")
                raise
            con.execute("commit")
        else:
            with con.transaction():
                yield _PgTx(con)

    # -- conveniences -----------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        with self.transaction() as tx:
            return tx.query(sql, params)

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        with self.transaction() as tx:
            return tx.scalar(sql, params)


def apply_duckdb_limits(con: Any) -> None:
    """The configured memory ceiling, spill directory and threads (yiwang.settings) on a DuckDB connection: past
    the ceiling DuckDB spills to disk instead of growing."""

    settings = get_settings()
    if settings.duckdb_temp_dir is not None:
        settings.duckdb_temp_dir.mkdir(parents=True, exist_ok=True)
        # a second connection to a database this process has open shares its instance, and DuckDB refuses to
        # set temp_directory again once a query spilled there, even to the same place: set it only when it differs
        (current,) = con.execute("select current_setting('temp_directory')").fetchone()
        if current != str(settings.duckdb_temp_dir):
            con.execute(f"set temp_directory = {qliteral(str(settings.duckdb_temp_dir))}")
    if settings.duckdb_memory_limit:
        con.execute(f"set memory_limit = {qliteral(settings.duckdb_memory_limit)}")
    if settings.duckdb_threads:
        con.execute(f"set threads = {int(settings.duckdb_threads)}")


def _pg_dsn(url: str) -> str:
    """SQLAlchemy-style ``postgresql+psycopg://`` URL to a libpq URL."""

    u = make_url(url)
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


def open_warehouse(url: str | None = None) -> Warehouse:
    if url is None:
        url = get_settings().warehouse_url
    return Warehouse(url)
