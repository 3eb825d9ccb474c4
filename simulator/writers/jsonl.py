"""API records as JSONL (one record a line, key order = contract order)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd


def _json_value(v: object) -> object:
    if v is None:
        return None
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(float(v)) else float(v)
    if isinstance(v, np.ndarray):
        return v.tolist()
    return v


def records(df: pd.DataFrame) -> list[dict]:
    cols = list(df.columns)
    arrays = [df[c].to_numpy(dtype=object) for c in cols]
    return [{c: _json_value(v) for c, v in zip(cols, row)} for row in zip(*arrays)]


def write_jsonl(path: Path, df: pd.DataFrame) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for rec in records(df):
            fh.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
    return len(df)


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
