"""Extract file drops: property (CSV/XLSX per company and month) and hotline (daily JSONL).

A file whose (path, checksum) is in ``ops.file_state`` is skipped; a file re-sent at the same path with other
content lands again as a new batch (a fresh batch id, whatever the content: delivered as A, corrected to B,
reverted to A, the last delivery lands A's rows again with a newer ``_loaded_at``), whose rows supersede the
earlier ones by key in staging. One :class:`~connectors.landing.TableLoad` per file; a bad file never stops
the others: a bad line or row is quarantined alone; a file whose encoding cannot be told is quarantined whole;
a file missing a required column fails (ledger status ``failed``, nothing landed) and is tried again next run.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from connectors.errors import ConnectorError, SourceUnavailableError, TableFailure
from connectors.jsonl import parse_jsonl
from connectors.landing import LedgerEntry, TableLoad, known_files, record_failure
from connectors.tabular import MissingColumns, ParsedFile, UndecodableFile, parse_csv, parse_xlsx
from connectors.types import Progress, no_progress
from yiwang.contracts import Table
from yiwang.settings import ConfigError, SourceConfig
from yiwang.warehouse import Warehouse

SUFFIXES = (".csv", ".xlsx", ".jsonl")


class UnreadableFile(ValueError):
    """A spreadsheet that cannot be opened (truncated or not really XLSX)."""


@dataclass(frozen=True)
class DropFile:
    path: Path
    rel: str  # relative to the system's landing directory, POSIX separators
    checksum: str  # sha256 of the content
    size: int
    mtime: float

    @property
    def state(self) -> dict[str, object]:
        return {"path": self.rel, "checksum": self.checksum, "size": self.size, "mtime": self.mtime}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def scan(root: Path, suffixes: tuple[str, ...] = SUFFIXES) -> list[DropFile]:
    """Every data file under ``root`` (hidden files and Excel lock files ``~$*`` excluded), sorted by path."""
    out = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if not p.is_file() or p.suffix.lower() not in suffixes:
            continue
        if any(part.startswith(".") for part in p.relative_to(root).parts) or p.name.startswith("~$"):
            continue
        st = p.stat()
        out.append(DropFile(p, rel, sha256_file(p), st.st_size, st.st_mtime))
    return out


def table_for(f: DropFile, tables: list[Table]) -> Table | None:
    """The file kind from its name: the only table of the system, or the one the file stem names."""
    if len(tables) == 1:
        return tables[0]
    stem = f.path.stem.lower()
    exact = [t for t in tables if t.name == stem]
    if exact:
        return exact[0]
    named = [t for t in tables if t.name in stem]
    return named[0] if len(named) == 1 else None


def parse_file(f: DropFile, table: Table) -> ParsedFile:
    suffix = f.path.suffix.lower()
    if suffix == ".jsonl":
        return parse_jsonl(f.path.read_bytes(), table)
    if suffix == ".csv":
        return parse_csv(f.path.read_bytes(), table)
    if suffix == ".xlsx":
        if f.size == 0:
            return ParsedFile(empty=True)
        try:
            return parse_xlsx(f.path, table)
        except MissingColumns:
            raise
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as e:
            raise UnreadableFile(f"cannot be read as XLSX: {type(e).__name__}: {e}") from e
    raise ConnectorError(f"{table.system}: no reader for {f.rel}")


def land_file(wh: Warehouse, table: Table, f: DropFile) -> LedgerEntry:
    """One file, one batch, one transaction (rows, quarantine, ledger and file_state together)."""
    try:
        with TableLoad(wh, table, source_file=f.rel, file_state=f.state) as load:
            try:
                parsed = parse_file(f, table)
            except UndecodableFile as e:
                # Not decoded, so no row can be told from another (nor a name from an address): the file stays
                # in the landing directory; the quarantine row describes it without its content.
                lines = f.path.read_bytes().count(b"\n")
                load.quarantine(
                    {"source_file": f.rel, "size": f.size, "checksum": f.checksum, "lines": lines},
                    "encoding",
                    f"{f.rel}: {e}",
                )
                load.message = "file quarantined whole: its encoding cannot be told"
            except UnreadableFile as e:
                load.quarantine(
                    {"source_file": f.rel, "size": f.size, "checksum": f.checksum},
                    "unreadable_file",
                    f"{f.rel}: {e}",
                )
                load.message = "unreadable file quarantined whole"
            else:
                for r in parsed.rejected:
                    load.quarantine(r.data, r.rule, r.reason, columns=r.columns)
                load.add_cells(parsed.names, parsed.cells)
                load.add_rows(parsed.objects)
                notes = ["empty file"] if parsed.empty else []
                load.message = "; ".join(notes + parsed.notes) or None
        assert load.entry is not None
        return load.entry
    except MissingColumns as e:
        record_failure(
            wh,
            table,
            f"{f.rel}: {e} (nothing landed; the file is read again on the next run)",
            source_file=f.rel,
        )
        raise
    except Exception as e:
        record_failure(wh, table, f"{f.rel}: {type(e).__name__}: {e}", source_file=f.rel)
        raise


def land_directory(
    wh: Warehouse,
    system: str,
    root: Path | None,
    tables: list[Table],
    progress: Progress = no_progress,
    files: list[DropFile] | None = None,
) -> tuple[list[LedgerEntry], list[TableFailure]]:
    """Land every new or changed file under ``root``. Returns (entries, failures)."""
    if root is None:
        raise ConfigError(f"source {system}: kind files needs a path in sources.yaml")
    if not root.is_dir():
        raise SourceUnavailableError(f"{system}: landing directory {root} does not exist")
    known = known_files(wh, system)
    todo = [f for f in (scan(root) if files is None else files) if known.get(f.rel) != f.checksum]
    entries: list[LedgerEntry] = []
    failures: list[TableFailure] = []
    for i, f in enumerate(todo):
        progress("files", i, len(todo))
        table = table_for(f, tables)
        if table is None:
            err = ConnectorError(
                f"{system}: cannot tell the kind of {root / f.rel} from its name "
                f"(expected one of {', '.join(t.name for t in tables)} in the file name)"
            )
            record_failure(wh, Table(system, "unrecognised_file", (), None, ()), str(err), source_file=f.rel)
            failures.append(TableFailure(system, f.rel, err))
            continue
        try:
            entries.append(land_file(wh, table, f))
        except Exception as e:  # noqa: BLE001 - one bad file never stops the others
            failures.append(TableFailure(system, f.rel, e))
    progress("files", len(todo), len(todo))
    return entries, failures


def extract_files(
    wh: Warehouse,
    source: SourceConfig,
    tables: list[Table],
    progress: Progress = no_progress,
) -> tuple[list[LedgerEntry], list[TableFailure]]:
    return land_directory(wh, source.system, source.path, tables, progress)
