"""The published read snapshot: what readers (the API, analysts) open, never the file the pipeline writes.

DuckDB allows one writing process per file and a reader holding the warehouse blocks the loader ("Could not set
lock"). So after each publish the public marts (``mart_*``) are copied into a new DuckDB file
``$YIWANG_HOME/published/marts-<build_id>.duckdb`` and the link ``published/marts.duckdb`` is swapped to it with
one atomic rename: a reader opens whichever snapshot the link names at that moment and keeps it for as long as
it reads (an older snapshot deleted later stays readable through an open handle). The pipeline never opens a
snapshot a reader may hold, so neither waits for the other.

On PostgreSQL readers read the public schemas directly: publish swaps them in one transaction and MVCC gives
every reader the old or the new marts, never a mix, without blocking.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import psycopg
from sqlalchemy.engine import make_url

from yiwang.settings import Settings, get_settings
from yiwang.warehouse import qident, qliteral, qname

LINK = "marts.duckdb"
KEEP = 3  # snapshots kept (the current one and the two before it, for readers still holding them)


class NotPublished(RuntimeError):
    """No build has been published yet: there is nothing for readers."""


def snapshot_dir(settings: Settings) -> Path:
    return settings.home / "published"


def current_snapshot(settings: Settings | None = None) -> Path | None:
    """The snapshot file the link names now (None before the first publish)."""
    settings = settings or get_settings()
    link = snapshot_dir(settings) / LINK
    try:
        target = link.parent / os.readlink(link)
    except OSError:
        return None
    return target if target.exists() else None


def write_snapshot(con: Any, settings: Settings, build_id: str, tables: list[tuple[str, str]]) -> Path:
    """Copy the public marts ``tables`` ((schema, table)) through the writer's DuckDB connection ``con`` into a
    new snapshot file, then point the link at it (atomic rename). Returns the snapshot's path."""
    folder = snapshot_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"marts-{build_id}.duckdb"
    tmp = folder / f".marts-{build_id}.duckdb.tmp"
    tmp.unlink(missing_ok=True)
    alias = f"yiwang_snapshot_{build_id[:12]}"
    con.execute(f"attach {qliteral(str(tmp))} as {alias}")
    try:
        for schema in sorted({s for s, _ in tables}):
            con.execute(f"create schema if not exists {alias}.{qident(schema)}")
        for schema, table in tables:
            con.execute(
                f"create table {alias}.{qname(schema, table)} as select * from {qname(schema, table)}"
            )
        con.execute(f"checkpoint {alias}")
    finally:
        con.execute(f"detach {alias}")
    os.replace(tmp, final)
    link_tmp = folder / f".{LINK}.{build_id}"
    link_tmp.unlink(missing_ok=True)
    os.symlink(final.name, link_tmp)
    os.replace(link_tmp, folder / LINK)  # readers opening from now on get the new snapshot
    _prune(folder, keep=final)
    return final


def _prune(folder: Path, keep: Path) -> None:
    snaps = sorted(folder.glob("marts-*.duckdb"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in [s for s in snaps if s != keep][KEEP - 1 :]:
        old.unlink(missing_ok=True)


class Reader:
    """A read-only view of the published marts: ``query(sql, params) -> (columns, rows)``."""

    def __init__(self, con: Any, duck: bool) -> None:
        self._con = con
        self._duck = duck

    @property
    def is_duckdb(self) -> bool:
        return self._duck

    def query(self, sql: str, params: list[Any] | None = None) -> tuple[list[str], list[tuple]]:
        if self._duck:
            cur = self._con.execute(sql, params or [])
            return [d[0] for d in cur.description], cur.fetchall()
        with self._con.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), params or [])
            return [d.name for d in cur.description], cur.fetchall()


@contextmanager
def open_published(settings: Settings | None = None) -> Iterator[Reader]:
    """The one way readers open the published marts: the current DuckDB snapshot (read-only), or the
    PostgreSQL warehouse in a read-only transaction. Raises :class:`NotPublished` before the first publish."""
    settings = settings or get_settings()
    if settings.is_duckdb:
        path = current_snapshot(settings)
        if path is None:
            raise NotPublished("no build has been published yet: run `yiwang build`")
        con = duckdb.connect(str(path), read_only=True)
        try:
            yield Reader(con, True)
        finally:
            con.close()
        return

    url = make_url(settings.warehouse_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False)) as con:
        con.read_only = True
        yield Reader(con, False)
