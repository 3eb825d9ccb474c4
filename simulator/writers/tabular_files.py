"""CSV (GBK / UTF-8 / UTF-8 with BOM) and XLSX writers with byte-reproducible output."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook

FIXED_ZIP_TIME = (2024, 1, 1, 0, 0, 0)
FIXED_DOC_TIME = datetime(2024, 1, 1, 0, 0, 0)


def _cell(v: object) -> object:
    return "" if v is None else v


def csv_bytes(header: list[str], rows: list[list[object]], encoding: str) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[_cell(v) for v in r] for r in rows])
    text = buf.getvalue()
    if encoding == "utf-8-sig":
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    return text.encode(encoding)


def xlsx_bytes(
    header: list[str],
    rows: list[list[object]],
    sheet: str = "Sheet1",
    extra_sheet: tuple[str, list[list[object]]] | None = None,
) -> bytes:
    wb = Workbook(write_only=True)
    wb.properties.creator = "property-company"
    wb.properties.created = FIXED_DOC_TIME
    ws = wb.create_sheet(sheet)
    ws.append(header)
    for r in rows:
        ws.append([None if v is None else v for v in r])
    if extra_sheet is not None:
        ws2 = wb.create_sheet(extra_sheet[0])
        for r in extra_sheet[1]:
            ws2.append(r)
    raw = io.BytesIO()
    wb.save(raw)
    return normalise_zip(raw.getvalue())


def normalise_zip(data: bytes) -> bytes:
    """Rewrites an XLSX with fixed entry timestamps and document dates so equal content gives equal bytes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:)",
                    rb"\g<1>2024-01-01T00:00:00Z\g<3>",
                    content,
                )
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, content)
    return out.getvalue()


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
