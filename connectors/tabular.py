"""Reading CSV and XLSX drops as text rows keyed by canonical contract field names.

No type inference anywhere: every value stays the text the file holds (ID numbers are never turned into
numbers). Header variants map to the contract's canonical names via the contract's ``headers`` map.

A CSV is decoded and parsed line by line (``connectors.decoding``): a line that cannot be decoded or parsed
is rejected alone, with its line number; the others land. A file whose header lacks a required contract
column (after header-variant mapping) raises :class:`MissingColumns`: the whole file fails, loudly.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from opencc import OpenCC
from openpyxl import load_workbook

from connectors.decoding import UndecodableFile, decode_bytes, decode_lines
from yiwang.contracts import Table
from yiwang.privacy import pseudonymise_text

__all__ = ["UndecodableFile", "decode_bytes", "decode_lines", "parse_csv", "parse_xlsx", "MissingColumns"]

HEADER_SCAN_ROWS = 10
# Key parts a file may deliver merged into another key column (contract dirt of property owners: "building/
# unit/room merged into one column '3-2-501'"): not required on their own.
MERGED_KEY_PARTS: dict[tuple[str, str], frozenset[str]] = {("property", "owners"): frozenset({"ld", "dy"})}


class MissingColumns(ValueError):
    """The file's header lacks a column the contract requires: the whole file fails."""


def required_columns(table: Table) -> list[str]:
    """Columns a delivered file must have. File kinds described by header variants (property): their key
    fields (less key parts a file may merge into another column, and parts such as the company that come
    from the path). Tables with typed fields (reference CSVs): every non-nullable field."""
    if table.headers:
        merged = MERGED_KEY_PARTS.get((table.system, table.name), frozenset())
        return [k for k in table.key if k in table.columns and k not in merged]
    return [f.name for f in table.fields if not f.nullable]


@dataclass
class Rejected:
    """An input row that cannot land: goes to quarantine with its rule and reason.

    ``columns`` names the cells of ``data`` (a list of cells or a CSV text line) by position, so the
    quarantine can pseudonymise them by column."""

    data: Any
    rule: str
    reason: str
    columns: list[str | None] | None = None


@dataclass
class ParsedFile:
    """A parsed drop. Rows of a CSV or XLSX are ``cells``: one list of values per row, ``names[j]`` naming
    value ``j`` (every row as wide as the header); a JSONL drop's rows are ``objects``, one dict per line.
    Either lands column by column (:meth:`connectors.landing.TableLoad.add_cells`, ``add_rows``)."""

    names: list[str] = field(default_factory=list)
    cells: list[list[str | None]] = field(default_factory=list)
    objects: list[dict[str, object]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    empty: bool = False

    @property
    def rows(self) -> list[dict[str, object]]:
        """Every row as a dict keyed by field name (for reading; landing takes the cells as they are)."""
        return [dict(zip(self.names, row, strict=True)) for row in self.cells] + self.objects

    @property
    def n_rows(self) -> int:
        return len(self.cells) + len(self.objects)


# -- headers --------------------------------------------------------------------------------------------
_SPACE = re.compile(r"\s+")
_PAREN_SUFFIX = re.compile(r"\(.*\)$")


@cache
def _simplified(text: str) -> str:
    """Traditional characters folded to simplified (OpenCC t2s), for matching header names only: a Big5
    export names its columns 小區名稱 where the contract lists 小区名称. Values are never converted."""
    if text.isascii():
        return text

    return _opencc(OpenCC).convert(text)


@cache
def _opencc(cls: Any) -> Any:
    return cls("t2s")


def norm_header(name: object) -> str:
    """Trim, fold full-width forms (（）, full-width spaces and letters) and traditional characters, drop inner
    whitespace, lowercase."""
    text = unicodedata.normalize("NFKC", "" if name is None else str(name))
    return _simplified(_SPACE.sub("", text).strip().lower())


class HeaderMap:
    """Maps a file's header cells to canonical contract field names."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._exact: dict[str, str] = {}
        for canonical in table.columns:
            self._exact.setdefault(norm_header(canonical), canonical)
        for canonical, variants in table.headers.items():
            for v in variants:
                self._exact.setdefault(norm_header(v), canonical)

    def canonical(self, header: object) -> str | None:
        n = norm_header(header)
        if not n:
            return None
        if n in self._exact:
            return self._exact[n]
        stripped = _PAREN_SUFFIX.sub("", n)  # "建筑面积(㎡)" -> "建筑面积"
        return self._exact.get(stripped) if stripped else None

    def score(self, cells: Sequence[object]) -> int:
        return len({c for c in (self.canonical(x) for x in cells) if c})

    def resolve(self, cells: Sequence[object]) -> list[str]:
        """Landing name for each column: canonical where recognised (first occurrence), else the header as-is
        (TableLoad sanitises unknown names); blank headers become ``column_<n>``."""
        out: list[str] = []
        used: set[str] = set()
        for i, cell in enumerate(cells):
            canonical = self.canonical(cell)
            if canonical and canonical not in used:
                name = canonical
            else:
                raw = "" if cell is None else str(cell).strip()
                name = raw or f"column_{i + 1}"
                while name in used or name in self.table.columns:
                    name = f"{name}_{i + 1}"
            used.add(name)
            out.append(name)
        return out

    def is_header(self, cells: Sequence[object]) -> bool:
        """A row is the header when it names at least two contract fields (one for one-field tables)."""
        return self.score(cells) >= min(2, len(self.table.columns))


def _blank(cells: Iterable[object]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def find_header(rows: Sequence[Sequence[object]], hmap: HeaderMap) -> int | None:
    for i, cells in enumerate(rows[:HEADER_SCAN_ROWS]):
        if hmap.is_header(cells):
            return i
    return None


# -- CSV ------------------------------------------------------------------------------------------------
def _lines_label(first: int, last: int) -> str:
    return f"line {first}" if first == last else f"lines {first}-{last}"


def check_header(out: ParsedFile, header: Sequence[object], names: list[str], table: Table) -> None:
    """Raise :class:`MissingColumns` when a required column is missing; note extra and absent optional ones."""
    missing = [c for c in required_columns(table) if c not in names]
    if missing:
        shown = [str(h) for h in header if h not in (None, "")][:20]
        raise MissingColumns(
            f"required column(s) {', '.join(missing)} missing from the header (after mapping header variants; "
            f"the header has: {', '.join(shown) or 'nothing'})"
        )
    _note_mapping(out, header, names, table)
    absent = [
        c
        for c in table.columns
        if c not in names and c not in MERGED_KEY_PARTS.get((table.system, table.name), frozenset())
    ]
    if absent and table.headers:
        out.notes.append(f"contract column(s) not in the file: {', '.join(absent)}")


def no_header(table: Table, first: Sequence[object], where: str) -> MissingColumns:
    preview = pseudonymise_text(", ".join(str(c) for c in list(first)[:12] if c not in (None, "")))
    return MissingColumns(
        f"no {where} names the contract's fields {', '.join(required_columns(table))} "
        f"(first row: {preview or 'empty'})"
    )


def parse_csv(data: bytes, table: Table) -> ParsedFile:
    """Parse a CSV drop. Raises :class:`UndecodableFile` (the encoding cannot be told) and
    :class:`MissingColumns`; everything else becomes rows, rejects (one per bad line) or notes."""
    out = ParsedFile()
    if not data.strip():
        out.empty = True
        return out
    decoded = decode_lines(data)
    out.notes.extend(decoded.notes)
    feed = ["" if line is None else line for line in decoded.lines]  # a bad line reads as blank: numbers hold
    last = len(feed) - 1
    reader = csv.reader(
        (line + ("\n" if i < last or decoded.ends_with_newline else "") for i, line in enumerate(feed)),
        strict=True,
    )
    records: list[
        tuple[list[str] | None, int, int, str]
    ] = []  # (fields or None, first line, last line, error)
    prev = 0
    while True:
        try:
            fields: list[str] | None = next(reader)
            error = ""
        except StopIteration:
            break
        except csv.Error as e:  # bad quoting; at the end of the file: an unterminated quote (truncated file)
            fields, error = None, str(e)
        records.append((fields, prev + 1, max(reader.line_num, prev + 1), error))
        prev = reader.line_num
    hmap = HeaderMap(table)
    parsed = [f or [] for f, _, _, _ in records]
    hdr = find_header(parsed, hmap)
    if hdr is None:
        raise no_header(
            table, next((f for f in parsed if not _blank(f)), []), f"row in the first {HEADER_SCAN_ROWS}"
        )
    if any(not _blank(f) for f in parsed[:hdr]):
        out.notes.append(f"{hdr} title row(s) above the header skipped")
    header = parsed[hdr]
    names = hmap.resolve(header)
    check_header(out, header, names, table)
    header_line = records[hdr][2]
    columns: list[str | None] = list(names)
    for bad in decoded.bad:
        out.rejected.append(
            Rejected(
                decoded.text_of(bad.raw), bad.rule, bad.reason, columns if bad.line > header_line else None
            )
        )
    width = len(header)
    out.names = names
    rows = out.cells
    for fields, first, end, error in records[hdr + 1 :]:
        if fields is not None and len(fields) == width:  # the common case first
            if not _blank(fields):
                rows.append(fields)
            continue
        where = _lines_label(first, end)
        line = "\n".join(feed[first - 1 : end]).rstrip("\r\n")
        if fields is None:
            truncated = "end of data" in error or "unexpected end" in error
            out.rejected.append(
                Rejected(
                    line,
                    "truncated_row" if truncated else "malformed_csv",
                    f"{where}: unterminated quote at the end of the file (truncated file): {error}"
                    if truncated
                    else f"{where}: bad CSV quoting: {error}",
                    columns,
                )
            )
            continue
        if _blank(fields):
            continue
        if len(fields) > width and _blank(fields[width:]):
            fields = fields[:width]
        if len(fields) != width:
            short = len(fields) < width
            out.rejected.append(
                Rejected(
                    line,
                    "truncated_row" if short else "field_count",
                    f"{where}: row has {len(fields)} field(s), the header has {width}"
                    + (" (truncated file or row)" if short else ""),
                    columns,
                )
            )
            continue
        rows.append(fields)
    if not out.cells and not out.rejected:
        out.empty = True
    return out


def _note_mapping(out: ParsedFile, header: Sequence[object], names: list[str], table: Table) -> None:
    extra = [str(h) for h, n in zip(header, names, strict=True) if n not in table.columns]
    if extra:
        out.notes.append(f"extra column(s): {', '.join(extra)}")


# -- XLSX -----------------------------------------------------------------------------------------------
# A number cell at or above 10**15 has more digits than Excel keeps (15 significant digits).
EXCEL_EXACT_LIMIT = 1e15


def cell_text(value: object, number_format: str | None = None) -> str | None:
    """A cell as text, as Excel shows it: 1990.0 -> "1990"; a date without a time format -> "YYYY-MM-DD"."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if abs(value) >= EXCEL_EXACT_LIMIT:
            # Excel keeps 15 significant digits: an 18-digit ID number typed into a number cell has lost
            # its last digits. Expanding the double would invent digits (420104199108250176) that can even
            # pass the ID check; show it as Excel does (4.2010419910825E+17) so normalisers see it mangled.
            mantissa, exponent = f"{value:.14E}".split("E")
            return f"{mantissa.rstrip('0').rstrip('.')}E{exponent}"
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time() and "h" not in (number_format or "").lower():
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _emit_xlsx_rows(rows: Iterable[Sequence[Any]], names: list[str], out: ParsedFile, first_row: int) -> int:
    """Rows from sheet row ``first_row`` on; returns the next row number."""
    width = len(names)
    n = first_row - 1
    for n, cells in enumerate(rows, first_row):
        values = [cell_text(c.value, getattr(c, "number_format", None)) for c in cells]
        if _blank(values):
            continue
        if len(values) > width:
            if not _blank(values[width:]):
                out.rejected.append(
                    Rejected(
                        values,
                        "field_count",
                        f"row {n}: values beyond the header's {width} column(s)",
                        list(names),
                    )
                )
                continue
            values = values[:width]
        values += [None] * (width - len(values))
        out.cells.append(values)
    return n + 1


def parse_xlsx(path: Path, table: Table) -> ParsedFile:
    """First sheet with a recognisable header; other sheets are noted, not read."""

    out = ParsedFile()
    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        hmap = HeaderMap(table)
        chosen: str | None = None
        ignored: list[str] = []
        for ws in wb.worksheets:
            if chosen is not None:
                ignored.append(ws.title)
                continue
            rows = ws.iter_rows()
            head: list[list[Any]] = []
            for cells in rows:
                head.append(list(cells))
                if len(head) >= HEADER_SCAN_ROWS:
                    break
            hdr = find_header([[c.value for c in r] for r in head], hmap)
            if hdr is None:
                ignored.append(ws.title)
                continue
            chosen = ws.title
            header = [c.value for c in head[hdr]]
            while header and (header[-1] is None or str(header[-1]).strip() == ""):
                header.pop()
            names = hmap.resolve(header)
            check_header(out, header, names, table)
            out.names = names
            nxt = _emit_xlsx_rows(head[hdr + 1 :], names, out, hdr + 2)
            _emit_xlsx_rows(rows, names, out, nxt)
        if chosen is None:
            sheets = ", ".join(ws.title for ws in wb.worksheets)
            raise MissingColumns(
                f"no sheet ({sheets}) has a header naming the contract's fields "
                f"{', '.join(required_columns(table))} in its first {HEADER_SCAN_ROWS} rows"
            )
        out.notes.append(f"sheet {chosen!r}")
        if ignored:
            out.notes.append(f"ignored sheet(s): {', '.join(ignored)}")
        if not out.cells and not out.rejected:
            out.empty = True
        return out
    finally:
        wb.close()
