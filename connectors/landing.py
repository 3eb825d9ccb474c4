"""Landing rows in raw_<system>.<table>, atomically, with the ledger, quarantine and cursor state.

One :class:`TableLoad` is one transaction: the raw rows, quarantined rows, the ledger row and the new cursor
commit together or not at all, so a load killed half-way leaves nothing behind and can simply be retried.
Raw keeps every distinct version of a row once (``_row_hash``), so landing the same rows again changes nothing.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring  # what json.dumps(ensure_ascii=False) writes for a str
from pathlib import Path
from typing import Any

import psutil
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from yiwang.contracts import Table, load_contract
from yiwang.ops import QuarantineEntry, ensure_ops, quarantine_batch, quarantine_data
from yiwang.settings import get_settings, hmac_key
from yiwang.warehouse import Tx, Warehouse, qident, qliteral, qname

META_COLUMNS = ("_batch_id", "_loaded_at", "_row_hash")
FILE_META = "_source_file"
CHUNK_ROWS = 50_000


class LedgerMismatch(RuntimeError):
    """rows read != rows landed + rows quarantined: a bug in a connector, never committed."""


@dataclass(frozen=True)
class LedgerEntry:
    system: str
    table_name: str
    batch_id: str
    source_file: str | None
    rows_read: int
    rows_landed: int
    rows_new: int
    rows_quarantined: int
    cursor_before: str | None
    cursor_after: str | None
    status: str
    message: str | None = None


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def uuid7() -> uuid.UUID:
    """A UUID version 7 (RFC 9562): 48-bit Unix milliseconds, then 74 random bits. Sorts by creation time."""
    ms = time.time_ns() // 1_000_000 & ((1 << 48) - 1)
    rand = int.from_bytes(os.urandom(10), "big")
    rand_a, rand_b = (rand >> 62) & 0xFFF, rand & ((1 << 62) - 1)
    return uuid.UUID(int=(ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b)


def new_batch_id(system: str, table: str) -> str:
    """A fresh batch id for every load, never reused across runs or processes (a UUIDv7, time-ordered):
    a file delivered again with content seen before is a new batch too."""
    return f"{system}.{table}.{uuid7()}"


_COL_BAD = re.compile(r"[^\w]+", re.UNICODE)


def sanitise_column(name: str) -> str:
    """A source's unannounced column name, made safe for the warehouse (keeps CJK letters)."""
    out = _COL_BAD.sub("_", str(name).strip().lower()).strip("_") or "unnamed"
    if out[0].isdigit():
        out = "c_" + out
    if out.startswith("_"):
        out = "x" + out
    return out


def to_text(value: Any) -> str | None:
    """A value as received, as text: the raw zone stores everything as VARCHAR."""
    if value is None:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    return str(value)


def row_hash(row: Mapping[str, str | None], source_file: str | None = None) -> str:
    """sha256 of the non-null fields as canonical JSON; stable when a source adds a column later."""
    items = sorted((k, v) for k, v in row.items() if v is not None)
    if source_file is not None:
        items.append((FILE_META, source_file))
    return hashlib.sha256(json.dumps(items, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def text_column(values: Sequence[Any]) -> list[str | None]:
    """One column of values as received, as text (:func:`to_text` of each; text stays as it is)."""
    return [v if v is None or (t := type(v)) is str else str(v) if t is int else to_text(v) for v in values]


# what json.dumps(ensure_ascii=False) escapes in a string (json.encoder.ESCAPE): a value without it is "value"
_JSON_ESCAPED = r'["\\\x00-\x1f]'


def _json_strings(values: pa.Array) -> pa.Array:
    """Each text value as a JSON string, exactly as json.dumps(ensure_ascii=False) writes it; NULL stays NULL.

    Quoted by Arrow; the rare value with a quote, backslash or control character is escaped by json's own
    encoder (``encode_basestring``)."""
    quoted = pc.binary_join_element_wise('"', values, '"', "")
    escaped = pc.fill_null(pc.match_substring_regex(values, _JSON_ESCAPED), False)
    if not pc.any(escaped).as_py():
        return quoted
    out = quoted.to_pylist()
    for i in pc.indices_nonzero(escaped).to_pylist():
        out[i] = encode_basestring(values[i].as_py())
    return pa.array(out, pa.string())


def row_hashes(
    columns: Mapping[str, pa.Array | Sequence[str | None]], n: int, source_file: str | None = None
) -> list[str]:
    """:func:`row_hash` of each of the ``n`` rows given column by column (text or None), the same digests.

    The canonical JSON of every row is built a column at a time in Arrow, with json.dumps' escaping
    (:func:`_json_strings`): ``[["k1","v1"],["k2","v2"]]`` over the non-null fields sorted by name, then
    ``["_source_file",...]``; Python only hashes each row's text."""
    tail = (
        f"[{encode_basestring(FILE_META)},{encode_basestring(source_file)}]"
        if source_file is not None
        else ""
    )
    if not columns:
        return [hashlib.sha256(f"[{tail}]".encode()).hexdigest()] * n
    # each field as ",[name,value]" ("" when NULL), concatenated, then the leading comma cut off (Arrow's
    # null_handling="skip" join is not used: it drops rows where every field is NULL)
    fields = []
    for name in sorted(columns):
        values = columns[name]
        text = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
        field = pc.binary_join_element_wise(f",[{encode_basestring(name)},", _json_strings(text), "]", "")
        fields.append(pc.fill_null(field, ""))
    joined = pc.binary_join_element_wise(*fields, f",{tail}" if tail else "", "")
    canonical = pc.binary_join_element_wise("[", pc.utf8_slice_codeunits(joined, 1), "]", "").cast(
        pa.binary()
    )
    digest = hashlib.sha256
    return [digest(b).hexdigest() for b in canonical.to_pylist()]


def _delivered_as_files(system: str) -> bool:
    """Whether the contract delivers this system as files (``delivery.kind: files``): its raw tables carry
    ``_source_file``. Reference tables (not a system of the contract) are files only when a load names one."""
    contract_system = load_contract().systems.get(system)
    return contract_system is not None and contract_system.kind == "files"


class _TempTable:
    """Where a load's rows wait for :meth:`TableLoad._finish` on PostgreSQL: a temp table of this transaction
    (the server keeps it on disk past ``temp_buffers``), filled by COPY."""

    def __init__(self, tx: Tx, columns: list[str]) -> None:
        self.tx = tx
        self.name = qident(f"_land_{uuid.uuid4().hex[:12]}")
        tx.execute(
            f"create temp table {self.name} ("
            + ", ".join(f"{qident(c)} varchar" for c in columns)
            + ", _row_hash varchar, _seq bigint)"
        )

    @property
    def relation(self) -> str:
        return self.name

    def add_column(self, name: str) -> None:
        self.tx.execute(f"alter table {self.name} add column {qident(name)} varchar")

    def append(self, data: pa.Table) -> None:
        self.tx.insert_arrow(self.name, data)

    def close(self) -> None:
        self.tx.execute(f"drop table if exists {self.name}")


class _ParquetSpool:
    """Where a load's rows wait for :meth:`TableLoad._finish` on DuckDB: Parquet files in a directory of its own
    under the DuckDB spill directory, one file per column set (a column first seen mid-load starts a new one),
    read back as one relation (``union_by_name``: a column a file lacks is NULL there).

    Not a temp table: DuckDB holds rows appended batch by batch to a table inside an open transaction in memory
    (about twice their size, past its memory_limit), so a table of millions of rows did not fit the budget."""

    def __init__(self, columns: list[str]) -> None:
        parent = get_settings().duckdb_temp_dir
        if parent is not None:
            parent.mkdir(parents=True, exist_ok=True)
            for stale in parent.glob("landing-*-*"):  # left by a load that was killed (its process is gone)
                pid = stale.name.split("-")[1]
                if pid.isdigit() and not psutil.pid_exists(int(pid)):
                    shutil.rmtree(stale, ignore_errors=True)
        self.dir = Path(tempfile.mkdtemp(prefix=f"landing-{os.getpid()}-", dir=parent))
        self.columns = [*columns, "_row_hash", "_seq"]
        self.files: list[Path] = []
        self._writer: Any = None

    @property
    def relation(self) -> str:
        self._close_writer()
        if not self.files:  # no rows: an empty file says which columns there are
            self.append(
                pa.table(
                    [pa.array([], pa.int64() if c == "_seq" else pa.string()) for c in self.columns],
                    names=self.columns,
                )
            )
            self._close_writer()
        paths = ", ".join(qliteral(str(f)) for f in self.files)
        return f"read_parquet([{paths}], union_by_name = true)"

    def add_column(self, name: str) -> None:
        self._close_writer()
        self.columns.insert(len(self.columns) - 2, name)

    def append(self, data: pa.Table) -> None:
        if self._writer is None:
            self.files.append(self.dir / f"part-{len(self.files):05d}.parquet")
            # written once, read once, soon deleted: no compression, dictionaries or statistics to compute
            self._writer = pq.ParquetWriter(
                self.files[-1], data.schema, compression="none", use_dictionary=False, write_statistics=False
            )
        self._writer.write_table(data)

    def _close_writer(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def close(self) -> None:
        try:
            self._close_writer()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class TableLoad:
    """Land one batch of one contract table. Use as a context manager.

    >>> with TableLoad(wh, table, cursor_before=c) as load:   # doctest: +SKIP
    ...     load.add_rows(rows)            # dicts keyed by contract field name, values as received
    ...     load.quarantine(bad, "rule", "reason")
    ...     load.cursor_after = new_cursor
    ... entry = load.entry
    """

    def __init__(
        self,
        wh: Warehouse,
        table: Table,
        *,
        batch_id: str | None = None,
        source_file: str | None = None,
        cursor_before: str | None = None,
        file_state: Mapping[str, Any] | None = None,
    ) -> None:
        self.wh = wh
        self.table = table
        self.schema = f"raw_{table.system}"
        self.batch_id = batch_id or new_batch_id(table.system, table.name)
        self.source_file = source_file
        self.is_file = _delivered_as_files(table.system) or source_file is not None
        self.cursor_before = cursor_before
        self.cursor_after: str | None = cursor_before
        self.reset_cursor = False  # with cursor_after None: forget the stored cursor (it was unusable)
        self.file_state = file_state
        self.rows_read = 0
        self.n_quarantined = 0
        self._quarantine_seen: dict[str, int] = {}  # quarantine id stem -> occurrences in this batch
        self._quarantined: list[QuarantineEntry] = []  # written to ops.quarantine in _finish
        self.entry: LedgerEntry | None = None
        self.message: str | None = None
        self._buffer: list[Mapping[str, Any]] = []  # rows given to add_rows, not landed yet (kept as given)
        self._future: list[tuple[str | None, str, str]] = []  # (row key, cursor value, row hash)
        self.extracted_at = utcnow()
        self._seq = 0
        self._tx: Tx | None = None
        self._ctx: Any = None
        self._started = utcnow()
        self._rows: _TempTable | _ParquetSpool | None = None  # the batch's rows until _finish
        self._raw_columns: list[str] = []
        self._key = hmac_key()  # fail before any work when the pseudonym key is missing

    # -- lifecycle ----------------------------------------------------------------------------
    def __enter__(self) -> TableLoad:
        self._ctx = self.wh.transaction()
        self._tx = self._ctx.__enter__()
        try:
            if not getattr(self.wh, "_ops_ready", False):  # DDL once per warehouse handle, not once per file
                ensure_ops(self._tx)
            self._ensure_raw_table()
            self._rows = (
                _ParquetSpool(self._raw_columns)
                if self._tx.dialect == "duckdb"
                else _TempTable(self._tx, self._raw_columns)
            )
        except BaseException as e:
            self._ctx.__exit__(type(e), e, e.__traceback__)
            raise
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            self._end(exc_type, exc, tb)
        finally:
            if isinstance(self._rows, _ParquetSpool):
                self._rows.close()

    def _end(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self._ctx is not None
        if exc_type is None:
            try:
                self._finish()
            except BaseException as e:
                self._ctx.__exit__(type(e), e, e.__traceback__)
                raise
            self._ctx.__exit__(None, None, None)
            self.wh._ops_ready = True  # type: ignore[attr-defined]
        else:
            self._ctx.__exit__(exc_type, exc, tb)

    # -- feeding ------------------------------------------------------------------------------
    def _clean(self, row: Mapping[str, Any]) -> dict[str, str | None]:
        return {sanitise_column(k) if k not in self._known else k: to_text(v) for k, v in row.items()}

    def add_rows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Rows as dicts keyed by field name (values as received), landed in batches of CHUNK_ROWS (each batch
        turned into columns at once, see :meth:`_flush`)."""
        for row in rows:
            self.rows_read += 1
            self._buffer.append(row)
            if len(self._buffer) >= CHUNK_ROWS:
                self._flush()

    def add_cells(self, names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Rows given as lists of values, ``names[j]`` naming value ``j`` of every row (a CSV or XLSX sheet
        below its header): :meth:`add_columns` of each CHUNK_ROWS of them, without a dict per row."""
        for start in range(0, len(rows), CHUNK_ROWS):
            chunk = rows[start : start + CHUNK_ROWS]
            if any(len(r) != len(names) for r in chunk):
                raise ValueError(f"rows of {len(names)} named values must all be {len(names)} wide")
            self.add_columns(names, list(zip(*chunk, strict=True)) if names else [])

    def add_columns(self, names: Sequence[str], columns: Sequence[Sequence[Any]]) -> None:
        """One batch of rows given column by column: ``columns[j][i]`` is field ``names[j]`` of row ``i`` (values
        as received). The same as :meth:`add_rows` of those rows, without a Python object per row."""
        if len(names) != len(columns):
            raise ValueError(f"{len(names)} column names for {len(columns)} columns")
        n = len(columns[0]) if columns else 0
        if any(len(c) != n for c in columns):
            raise ValueError("columns of one batch must be equally long")
        if n == 0:
            return
        self._flush()  # rows given before land first, in order
        known = self._known
        text: dict[str, list[str | None]] = {}
        for name, values in zip(names, columns, strict=True):
            text[name if name in known else sanitise_column(name)] = text_column(values)  # a later name wins
        self.rows_read += n
        self._land(text, n)

    def flag_future(self, row: Mapping[str, Any], cursor_value: Any) -> None:
        """Record a row (also passed to :meth:`add_rows`) whose cursor lies in the future in ops.future_rows."""
        clean = self._clean(row)
        key = "|".join(clean.get(k) or "" for k in self.table.key) if self.table.key else None
        self._future.append((key, to_text(cursor_value) or "", row_hash(clean, self.source_file)))

    def quarantine(
        self,
        row: Any,
        rule: str,
        reason: str,
        *,
        count_as_read: bool = True,
        columns: list[str | None] | None = None,
    ) -> None:
        """Send one input row (dict, list of cells or the raw text line) to ops.quarantine with its reason.

        ``columns`` names the cells of a list or of a CSV text line by position (the file's header)."""
        assert self._tx is not None
        if count_as_read:
            self.rows_read += 1
        self.n_quarantined += 1
        # Quarantine lives outside raw: personal data is pseudonymised (HMAC, key from the environment),
        # whatever shape the row has: fields by name, cells by their column, unparsed text by pattern.
        data = quarantine_data(row, self._key, columns)
        # The id is a function of what was quarantined (system, table, file, rule, the pseudonymised row and its
        # occurrence in this batch), so a batch delivered or read again adds no second entry for the same row.
        stem = hashlib.sha256(
            "\x1f".join([self.table.system, self.table.name, self.source_file or "", rule, data]).encode()
        ).hexdigest()[:32]
        occurrence = self._quarantine_seen.get(stem, 0)
        self._quarantine_seen[stem] = occurrence + 1
        quarantine_id = stem if occurrence == 0 else f"{stem}-{occurrence}"
        # written with the batch (quarantine_batch, a few statements for all of them): a row re-queued after a
        # fix at the source that comes back still bad has its entry opened again
        self._quarantined.append(QuarantineEntry(quarantine_id, rule, reason, data, utcnow()))

    def distinct_keys_in_raw(self) -> int:
        """Distinct contract keys in raw plus this (uncommitted) batch."""
        assert self._tx is not None
        self._flush()
        keys = [k for k in self.table.key if k in self._known]
        if not keys:
            return 0
        cols = ", ".join(qident(k) for k in keys)
        raw = qname(self.schema, self.table.name)
        return int(
            self._tx.scalar(
                f"select count(*) from (select {cols} from {raw} union select {cols} from {self._rows.relation}) as k"
            )
            or 0
        )

    # -- internals ----------------------------------------------------------------------------
    @property
    def _known(self) -> set[str]:
        return set(self._raw_columns)

    def _ensure_raw_table(self) -> None:
        tx = self._tx
        assert tx is not None
        tx.execute(f"create schema if not exists {qident(self.schema)}")
        meta = list(META_COLUMNS) + ([FILE_META] if self.is_file else [])
        if not tx.table_exists(self.schema, self.table.name):
            cols = [f"{qident(c)} varchar" for c in self.table.columns]
            cols += [f"{qident(c)} {'timestamp' if c == '_loaded_at' else 'varchar'}" for c in meta]
            tx.execute(f"create table {qname(self.schema, self.table.name)} ({', '.join(cols)})")
        self._raw_columns = [c for c in tx.columns(self.schema, self.table.name) if c not in meta]

    def _add_columns(self, names: Iterable[str]) -> None:
        tx = self._tx
        assert tx is not None
        for name in names:
            tx.execute(f"alter table {qname(self.schema, self.table.name)} add column {qident(name)} varchar")
            self._rows.add_column(name)
            self._raw_columns.append(name)

    def _flush(self) -> None:
        """The buffered rows (dicts of values as received), column by column, into the batch.

        A column per name the rows use, its values made text at once (:func:`text_column`, :func:`to_text` of
        each); a name missing from a row is NULL there, as a NULL value is. Where two names of the batch land
        under one column name (sanitised alike), each row is cleaned on its own instead (the later of the two
        in that row wins), as it always was."""
        if not self._buffer:
            return
        rows, self._buffer = self._buffer, []
        known = self._known
        names = dict.fromkeys(k for r in rows for k in r)
        landing = {k: k if k in known else sanitise_column(k) for k in names}
        if len(set(landing.values())) < len(landing):
            clean = [self._clean(r) for r in rows]
            names = dict.fromkeys(k for r in clean for k in r)
            self._land({k: [r.get(k) for r in clean] for k in names}, len(rows))
            return
        self._land({landing[k]: text_column([r.get(k) for r in rows]) for k in names}, len(rows))

    def _land(self, text: dict[str, list[str | None]], n: int) -> None:
        """``n`` rows of text, column by column, into the batch's rows as one Arrow record batch."""
        assert self._rows is not None
        new_cols = sorted(set(text) - self._known - {"_seq"})
        if new_cols:
            self._add_columns(new_cols)
        given = {c: pa.array(v, pa.string()) for c, v in text.items()}
        hashes = row_hashes(given, n, self.source_file)
        nulls = pa.nulls(n, pa.string())
        arrays = [given.get(c, nulls) for c in self._raw_columns]
        arrays += [
            pa.array(hashes, pa.string()),
            pa.array(range(self._seq + 1, self._seq + n + 1), pa.int64()),
        ]
        self._seq += n
        self._rows.append(pa.table(arrays, names=[*self._raw_columns, "_row_hash", "_seq"]))

    def _finish(self) -> None:
        self._flush()
        tx = self._tx
        assert tx is not None
        assert self._rows is not None
        tmp = self._rows.relation
        raw = qname(self.schema, self.table.name)
        loaded_at = utcnow()
        # A file delivered again replaces what its path delivered before, whatever its content: a row skips
        # insertion only when the path's latest landing already holds it. A row seen in an earlier delivery
        # only (A, then B, then A again) lands again with this batch's _loaded_at, so staging's latest
        # version per key is the latest delivery's.
        path_latest = (
            tx.scalar(f"select max(_loaded_at) from {raw} where _source_file = ?", [self.source_file])
            if self.is_file and self.source_file is not None
            else None
        )
        if path_latest is not None and loaded_at <= path_latest:  # a clock stepped back: keep the order
            loaded_at = path_latest + dt.timedelta(microseconds=1)
        # In-batch exact duplicates (the same row twice in one delivery) go to quarantine, one row each.
        # columns named, not *: a column added during this load sits after _row_hash and _seq in the temp table
        cols = [*self._raw_columns, "_row_hash", "_seq"]
        dups = tx.query(
            f"select {', '.join(qident(c) for c in cols)} from {tmp} t "
            f"where _seq not in (select min(_seq) from {tmp} group by _row_hash) order by _seq"
        )
        for d in dups:
            row = {
                c: v for c, v in zip(cols, d, strict=True) if c not in ("_row_hash", "_seq") and v is not None
            }
            self.quarantine(
                row,
                "duplicate_in_batch",
                "exact duplicate of an earlier row in the same batch",
                count_as_read=False,
            )
        distinct = int(tx.scalar(f"select count(distinct _row_hash) from {tmp}") or 0)
        before = int(tx.scalar(f"select count(*) from {raw}") or 0)
        data_cols = ", ".join(qident(c) for c in self._raw_columns)
        extra_cols = ", _source_file" if self.is_file else ""
        extra_vals = ", ?" if self.is_file else ""
        params: list[Any] = [self.batch_id, loaded_at] + ([self.source_file] if self.is_file else [])
        present = "r._row_hash = t._row_hash" + (" and r._loaded_at >= ?" if path_latest is not None else "")
        tx.execute(
            f"insert into {raw} ({data_cols}, _batch_id, _loaded_at, _row_hash{extra_cols}) "
            f"select {data_cols}, ?, ?, _row_hash{extra_vals} from {tmp} t "
            f"where _seq in (select min(_seq) from {tmp} group by _row_hash) "
            f"and not exists (select 1 from {raw} r where {present})",
            params + ([path_latest] if path_latest is not None else []),
        )
        rows_new = int(tx.scalar(f"select count(*) from {raw}") or 0) - before
        quarantine_batch(
            tx,
            self.batch_id,
            self._quarantined,
            system=self.table.system,
            table_name=self.table.name,
            source_file=self.source_file,
            reopen="requeued",
        )
        if isinstance(self._rows, _TempTable):
            self._rows.close()
        if self.rows_read != distinct + self.n_quarantined:
            raise LedgerMismatch(
                f"{self.table.raw_table} batch {self.batch_id}: read {self.rows_read} != "
                f"landed {distinct} + quarantined {self.n_quarantined}"
            )
        self.entry = LedgerEntry(
            system=self.table.system,
            table_name=self.table.name,
            batch_id=self.batch_id,
            source_file=self.source_file,
            rows_read=self.rows_read,
            rows_landed=distinct,
            rows_new=rows_new,
            rows_quarantined=self.n_quarantined,
            cursor_before=self.cursor_before,
            cursor_after=self.cursor_after,
            status="success",
            message=self.message,
        )
        write_ledger(tx, self.entry, self._started, loaded_at)
        for key, value, h in dict.fromkeys(self._future):
            tx.execute(
                "insert into ops.future_rows select ?, ?, ?, ?, ?, ?, ?, ?, ? where not exists (select 1 from "
                "ops.future_rows where system = ? and table_name = ? and _row_hash = ?)",
                [
                    self.table.system,
                    self.table.name,
                    key,
                    self.table.cursor,
                    value,
                    h,
                    self.batch_id,
                    self.extracted_at,
                    loaded_at,
                    self.table.system,
                    self.table.name,
                    h,
                ],
            )
        if self.table.cursor and self.cursor_after is not None and not self.is_file:
            set_cursor(tx, self.table.system, self.table.name, self.cursor_after)
        elif self.table.cursor and self.reset_cursor and not self.is_file:
            tx.execute(
                "delete from ops.load_state where system = ? and table_name = ?",
                [self.table.system, self.table.name],
            )
        if self.file_state is not None:
            fs = self.file_state
            tx.execute(
                "delete from ops.file_state where system = ? and path = ?", [self.table.system, fs["path"]]
            )
            tx.execute(
                "insert into ops.file_state values (?, ?, ?, ?, ?, ?, ?)",
                [
                    self.table.system,
                    fs["path"],
                    fs["checksum"],
                    fs.get("size"),
                    fs.get("mtime"),
                    self.batch_id,
                    loaded_at,
                ],
            )


def write_ledger(tx: Tx, e: LedgerEntry, started: dt.datetime, finished: dt.datetime) -> None:
    tx.execute(
        "insert into ops.load_ledger values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            e.system,
            e.table_name,
            e.batch_id,
            e.source_file,
            started,
            finished,
            e.rows_read,
            e.rows_landed,
            e.rows_new,
            e.rows_quarantined,
            e.cursor_before,
            e.cursor_after,
            e.status,
            e.message,
        ],
    )


def record_failure(
    wh: Warehouse, table: Table, message: str, cursor: str | None = None, source_file: str | None = None
) -> LedgerEntry:
    """A load that failed writes one ledger row (0 read, 0 landed) and moves no cursor."""
    entry = LedgerEntry(
        table.system,
        table.name,
        new_batch_id(table.system, table.name),
        source_file,
        0,
        0,
        0,
        0,
        cursor,
        cursor,
        "failed",
        message[:2000],
    )
    now = utcnow()
    with wh.transaction() as tx:
        ensure_ops(tx)
        write_ledger(tx, entry, now, now)
    return entry


def get_cursor(wh: Warehouse, system: str, table: str) -> str | None:
    with wh.transaction() as tx:
        ensure_ops(tx)
        return tx.scalar(
            "select cursor_value from ops.load_state where system = ? and table_name = ?", [system, table]
        )


def set_cursor(tx: Tx, system: str, table: str, value: str) -> None:
    tx.execute("delete from ops.load_state where system = ? and table_name = ?", [system, table])
    tx.execute("insert into ops.load_state values (?, ?, ?, ?)", [system, table, value, utcnow()])


def known_files(wh: Warehouse, system: str) -> dict[str, str]:
    """path -> checksum of every file already landed for a file system."""
    with wh.transaction() as tx:
        ensure_ops(tx)
        return dict(tx.query("select path, checksum from ops.file_state where system = ?", [system]))
