"""Load the city's reference CSVs (divisions, departments, event_categories) into raw_reference.*"""

from __future__ import annotations

from pathlib import Path

from connectors.errors import SourceUnavailableError, TableFailure
from connectors.files import land_directory, scan
from connectors.landing import LedgerEntry, record_failure
from connectors.types import Progress, no_progress
from yiwang.contracts import load_contract
from yiwang.warehouse import Warehouse

SYSTEM = "reference"


def extract_reference_dir(
    wh: Warehouse, reference_dir: Path, progress: Progress = no_progress
) -> tuple[list[LedgerEntry], list[TableFailure]]:
    """Land ``{table}.csv`` for each reference table; unchanged files are skipped, a missing one is a failure."""
    tables = list(load_contract().reference.values())
    if not reference_dir.is_dir():
        raise SourceUnavailableError(
            f"reference: directory {reference_dir} does not exist (reference_dir in "
            "sources.yaml / YIWANG_REFERENCE_DIR)"
        )
    wanted = {f"{t.name}.csv": t for t in tables}
    files = [f for f in scan(reference_dir, (".csv",)) if f.rel in wanted]
    failures: list[TableFailure] = []
    present = {f.rel for f in files}
    for name, t in wanted.items():
        if name not in present:
            err = SourceUnavailableError(f"reference: {reference_dir / name} is missing")
            record_failure(wh, t, str(err), source_file=name)
            failures.append(TableFailure(SYSTEM, t.name, err))
    entries, more = land_directory(wh, SYSTEM, reference_dir, tables, progress, files=files)
    return entries, failures + more
