"""Writes contract tables to SQLite (executemany in chunks) and optionally MariaDB (SQLAlchemy)."""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

from simulator.contract import table

CHUNK = 50_000


def sqlite_type(contract_type: str) -> str:
    t = contract_type.lower()
    if t.startswith(("int", "tinyint", "boolean")):
        return "INTEGER"
    if t.startswith("decimal"):
        return "REAL"
    return "TEXT"


def _py(v: object) -> object:
    if v is None:
        return None
    if isinstance(v, (np.bool_, bool)):
        return int(bool(v))
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(float(v)) else float(v)
    return v


def _rows(df: pd.DataFrame, start: int, stop: int) -> list[tuple]:
    part = df.iloc[start:stop]
    cols = [part[c].to_numpy(dtype=object) for c in part.columns]
    return [tuple(_py(v) for v in row) for row in zip(*cols)]


def write_sqlite(
    path: Path,
    system: str,
    tables: dict[str, pd.DataFrame],
    progress: Callable[[str, int, int], None] | None = None,
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    con = sqlite3.connect(path)
    try:
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        for name, df in tables.items():
            spec = table(system, name)
            cols = ", ".join(f'"{c}" {sqlite_type(spec.fields[c]["type"])}' for c in spec.columns)
            key = ", ".join(f'"{k}"' for k in spec.key)
            con.execute(f'CREATE TABLE "{name}" ({cols}, PRIMARY KEY ({key}))')
            sql = f'INSERT INTO "{name}" VALUES ({", ".join("?" * len(spec.columns))})'
            for start in range(0, len(df), CHUNK):
                con.executemany(sql, _rows(df[spec.columns], start, start + CHUNK))
                if progress:
                    progress(f"{system}.{name}", min(start + CHUNK, len(df)), len(df))
            if spec.cursor:
                con.execute(f'CREATE INDEX "ix_{name}_{spec.cursor}" ON "{name}" ("{spec.cursor}")')
            con.commit()
    finally:
        con.close()


def _sa_type(contract_type: str):

    t = contract_type.lower()
    m = re.match(r"(\w+)(?:\((\d+)(?:,(\d+))?\))?", t)
    base, a, b = m.group(1), m.group(2), m.group(3)
    if base == "varchar":
        return sa.String(int(a))
    if base == "char":
        return sa.CHAR(int(a))
    if base == "text":
        return sa.Text()
    if base == "int":
        return sa.Integer()
    if base == "tinyint":
        return sa.SmallInteger()
    if base == "boolean":
        return sa.Boolean()
    if base == "decimal":
        return sa.Numeric(int(a), int(b))
    if base == "date":
        return sa.Date()
    if base in ("datetime", "timestamp"):
        return sa.DateTime()
    raise ValueError(contract_type)


def ensure_database(url: str) -> None:
    """CREATE DATABASE IF NOT EXISTS for the URL's database (utf8mb4)."""

    u = sa.make_url(url)
    server = sa.create_engine(u.set(database=""))
    with server.begin() as con:
        con.execute(
            sa.text(
                f"CREATE DATABASE IF NOT EXISTS `{u.database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
        )
    server.dispose()


def write_mariadb(
    url: str,
    system: str,
    tables: dict[str, pd.DataFrame],
    progress: Callable[[str, int, int], None] | None = None,
) -> None:
    """(Re)creates the system's tables in the MariaDB database and inserts all rows."""

    ensure_database(url)
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    sa_tables = {}
    for name in tables:
        spec = table(system, name)
        cols = [
            sa.Column(
                c,
                _sa_type(spec.fields[c]["type"]),
                primary_key=c in spec.key,
                nullable=c not in spec.key,
                autoincrement=False,
            )
            for c in spec.columns
        ]
        sa_tables[name] = sa.Table(name, meta, *cols)
    meta.drop_all(engine)
    meta.create_all(engine)
    with engine.begin() as con:
        for name, df in tables.items():
            spec = table(system, name)
            for start in range(0, len(df), 10_000):
                rows = [dict(zip(spec.columns, r)) for r in _rows(df[spec.columns], start, start + 10_000)]
                con.execute(sa_tables[name].insert(), rows)
                if progress:
                    progress(f"mariadb.{system}.{name}", min(start + 10_000, len(df)), len(df))
    engine.dispose()
