"""Reading CSV and XLSX drops as text rows keyed by canonical contract field names.

No type inference anywhere: every value stays the text the file holds (ID numbers are never turned into
numbers). Header variants map to the contract's canonical names via the contract's ``headers`` map.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charset_normalizer import from_bytes

from yiwang.contracts import Table

HEADER_SCAN_ROWS = 10
FALLBACK_ENCODINGS = frozenset({"utf_16", "utf_16_le", "utf_16_be", "utf_32", "utf_32_le", "utf_32_be",
                                "big5", "big5hkscs", "cp950"})
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffd\ufffe\uffff]")


class UndecodableFile(ValueError):
    """No encoding the hub accepts decodes the file."""


@dataclass
class Rejected:
    """An input row that cannot land: goes to quarantine with its rule and reason."""

    data: Any
    rule: str
    reason: str


@dataclass
class ParsedFile:
    rows: list[dict[str, str | None]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    empty: bool = False


# -- encoding -------------------------------------------------------------------------------------------
def decode_bytes(data: bytes) -> tuple[str, str]:
    """(text, encoding). Deterministic: UTF-8 (BOM or not), then GB18030 (a superset of GBK/GB2312), then
    charset-normalizer's best guess. A multi-byte character cut off by a truncated file is replaced by U+FFFD
    (that last row is quarantined by the parser anyway). Raises :class:`UndecodableFile`."""
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError as e:
            if e.end >= len(data) and "end of data" in str(e.reason):
                return data.decode(enc, errors="replace"), f"{enc} (truncated last character)"
    # Beyond the contract's encodings, accept charset-normalizer's guess only for Unicode encodings and
    # Traditional-Chinese Big5 and only when the text is clean: single-byte code pages "decode" anything and
    # would land mojibake silently.
    best = from_bytes(data).best()
    if best is not None and best.encoding in FALLBACK_ENCODINGS:
        text = str(best)
        if not _BAD_CHARS.search(text):
            return text, best.encoding
    raise UndecodableFile("not UTF-8, GBK/GB18030 or any encoding charset-normalizer recognises")


# -- headers --------------------------------------------------------------------------------------------
_SPACE = re.compile(r"\s+")
_PAREN_SUFFIX = re.compile(r"\(.*\)$")


def norm_header(name: object) -> str:
    """Trim, fold full-width forms (（）, full-width spaces and letters), drop inner whitespace, lowercase."""
    text = unicodedata.normalize("NFKC", "" if name is None else str(name))
    return _SPACE.sub("", text).strip().lower()


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
def parse_csv(data: bytes, table: Table) -> ParsedFile:
    """Parse a CSV drop. Raises :class:`UndecodableFile`; everything else becomes rows, rejects or notes."""
    out = ParsedFile()
    if not data.strip():
        out.empty = True
        return out
    text, encoding = decode_bytes(data)
    out.notes.append(f"encoding {encoding}")
    lines = io.StringIO(text, newline="").readlines()  # the same line splitting as the csv reader
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[list[str] | None, str, str]] = []  # (fields or None when malformed, raw text, error)
    prev = 0
    while True:
        try:
            fields: list[str] | None = next(reader)
            error = ""
        except StopIteration:
            break
        except csv.Error as e:  # bad quoting; at the end of the file: an unterminated quote (truncated file)
            fields, error = None, str(e)
        raw = "".join(lines[prev:reader.line_num])
        prev = reader.line_num
        records.append((fields, raw, error))
    hmap = HeaderMap(table)
    parsed = [f or [] for f, _, _ in records]
    hdr = find_header(parsed, hmap)
    if hdr is None:
        first = next((f for f in parsed if not _blank(f)), [])
        out.rejected.append(Rejected(text, "unrecognised_header",
                                     f"no row in the first {HEADER_SCAN_ROWS} names the contract's fields; "
                                     f"first row: {first[:12]}"))
        return out
    if any(not _blank(f) for f in parsed[:hdr]):
        out.notes.append(f"{hdr} title row(s) above the header skipped")
    header = parsed[hdr]
    names = hmap.resolve(header)
    _note_mapping(out, header, names, table)
    width = len(header)
    for fields, raw, error in records[hdr + 1:]:
        line = raw.rstrip("\r\n")
        if fields is None:
            truncated = "end of data" in error
            out.rejected.append(Rejected(
                line, "truncated_row" if truncated else "malformed_csv",
                f"unterminated quote at the end of the file (truncated file): {error}" if truncated
                else f"bad CSV quoting: {error}",
            ))
            continue
        if _blank(fields):
            continue
        if len(fields) > width and _blank(fields[width:]):
            fields = fields[:width]
        if len(fields) != width:
            short = len(fields) < width
            out.rejected.append(Rejected(
                line, "truncated_row" if short else "field_count",
                f"row has {len(fields)} field(s), the header has {width}"
                + (" (truncated file or row)" if short else ""),
            ))
            continue
        out.rows.append(dict(zip(names, fields, strict=True)))
    if not out.rows and not out.rejected:
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


def _emit_xlsx_rows(rows: Iterable[Sequence[Any]], names: list[str], out: ParsedFile) -> None:
    width = len(names)
    for cells in rows:
        values = [cell_text(c.value, getattr(c, "number_format", None)) for c in cells]
        if _blank(values):
            continue
        if len(values) > width:
            if not _blank(values[width:]):
                out.rejected.append(Rejected(values, "field_count",
                                             f"row has values beyond the header's {width} column(s)"))
                continue
            values = values[:width]
        values += [None] * (width - len(values))
        out.rows.append(dict(zip(names, values, strict=True)))


def parse_xlsx(path: Path, table: Table) -> ParsedFile:
    """First sheet with a recognisable header; other sheets are noted, not read."""
    from openpyxl import load_workbook

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
            _note_mapping(out, header, names, table)
            _emit_xlsx_rows(head[hdr + 1:], names, out)
            _emit_xlsx_rows(rows, names, out)
        if chosen is None:
            out.rejected.append(Rejected({"sheets": [ws.title for ws in wb.worksheets]}, "unrecognised_header",
                                         "no sheet has a header naming the contract's fields"))
            return out
        out.notes.append(f"sheet {chosen!r}")
        if ignored:
            out.notes.append(f"ignored sheet(s): {', '.join(ignored)}")
        if not out.rows and not out.rejected:
            out.empty = True
        return out
    finally:
        wb.close()
