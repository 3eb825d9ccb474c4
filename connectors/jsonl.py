"""Reading JSONL drops (one JSON object per line) as records; bad lines become quarantine entries."""

from __future__ import annotations

import json

from connectors.tabular import ParsedFile, Rejected
from yiwang.contracts import Table


def parse_jsonl(data: bytes, table: Table) -> ParsedFile:
    out = ParsedFile()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        out.empty = True
        return out
    for n, raw in enumerate(data.split(b"\n"), 1):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            out.rejected.append(
                Rejected(
                    raw.decode("utf-8", errors="backslashreplace"),
                    "encoding",
                    f"line {n}: not UTF-8 ({e.reason} at byte {e.start})",
                )
            )
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            out.rejected.append(Rejected(line, "malformed_json", f"line {n}: {e.msg} at column {e.colno}"))
            continue
        if not isinstance(obj, dict):
            out.rejected.append(
                Rejected(line, "not_an_object", f"line {n}: a JSON {type(obj).__name__}, not an object")
            )
            continue
        missing = [k for k in table.key if obj.get(k) is None or str(obj.get(k)).strip() == ""]
        if missing:
            out.rejected.append(
                Rejected(obj, "missing_key", f"line {n}: no value for key {', '.join(missing)}")
            )
            continue
        out.objects.append(obj)
    if not out.objects and not out.rejected:
        out.empty = True
    return out
