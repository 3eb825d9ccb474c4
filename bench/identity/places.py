"""Scores of the place / estate / org / demand identity tables against the simulator's truth.

    .venv/bin/python bench/identity/places.py /path/to/YIWANG_HOME     (DuckDB warehouse)

Used by tests/identity_places (through its scoring.py) and bench/generalise.py; runnable on its own to measure
a bigger scale.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

KEYS = ["source_system", "source_table", "source_key"]


def load_truth(home: Path) -> pd.DataFrame:
    return pd.read_parquet(home / "sources" / "truth" / "records.parquet")


def grid_scores(truth: pd.DataFrame, xref: pd.DataFrame) -> dict:
    t = truth[truth["grid_code"].notna()][KEYS + ["grid_code"]]
    m = t.merge(xref[KEYS + ["grid_code"]].rename(columns={"grid_code": "got"}), on=KEYS, how="left")
    by_table = m.assign(ok=m["got"] == m["grid_code"], has=m["got"].notna()).groupby(
        ["source_system", "source_table"]
    )
    per_table = by_table["ok"].mean()
    resolved = m[m["got"].notna()]
    return {
        "grid_accuracy": float((m["got"] == m["grid_code"]).mean()),
        "grid_precision_resolved": float((resolved["got"] == resolved["grid_code"]).mean())
        if len(resolved)
        else 0.0,
        "grid_rows": len(m),
        "grid_per_table": {f"{a}.{b}": v for (a, b), v in per_table.round(4).items()},
        "grid_coverage_per_table": {f"{a}.{b}": v for (a, b), v in by_table["has"].mean().round(4).items()},
        "grid_rows_per_table": {f"{a}.{b}": int(v) for (a, b), v in by_table.size().items()},
    }


def pairwise(truth_labels: pd.Series, got_labels: pd.Series) -> dict:
    """Pairwise precision / recall / F1 of a clustering (indexes aligned), from cluster sizes."""

    def n_pairs(sizes: pd.Series) -> int:
        return int((sizes * (sizes - 1) // 2).sum())

    frame = pd.DataFrame({"t": truth_labels.to_numpy(), "g": got_labels.to_numpy()})
    true_pairs = n_pairs(frame.groupby("t").size())
    found_pairs = n_pairs(frame.groupby("g").size())
    tp = n_pairs(frame.groupby(["t", "g"]).size())
    p = tp / found_pairs if found_pairs else 1.0
    r = tp / true_pairs if true_pairs else 1.0
    return {
        "precision": p,
        "recall": r,
        "f1": 2 * p * r / (p + r) if p + r else 0.0,
        "true_pairs": true_pairs,
        "found_pairs": found_pairs,
    }


def cluster_accuracy(truth: pd.DataFrame, xref: pd.DataFrame, truth_col: str, key_col: str) -> dict:
    """Share of truth-labelled records whose key's majority truth label is their own label
    (and which have a key at all), plus pairwise scores."""
    t = truth[truth[truth_col].notna()][KEYS + [truth_col]]
    m = t.merge(xref[KEYS + [key_col]], on=KEYS, how="left").reset_index(drop=True)
    has = m[m[key_col].notna()]
    majority = has.groupby(key_col)[truth_col].agg(lambda s: s.value_counts().index[0])
    ok = m[key_col].map(majority) == m[truth_col]
    pw = pairwise(has[truth_col].rename(None), has[key_col].rename(None)) if len(has) else {}
    return {
        "accuracy": float(ok.mean()),
        "rows": len(m),
        "linked": len(has),
        **{f"pair_{k}": v for k, v in pw.items()},
    }


def demand_scores(truth: pd.DataFrame, xref: pd.DataFrame) -> dict:
    t = truth[truth["source_table"].isin(["wg_sj", "tickets", "complaints"])][KEYS + ["incident_id"]]
    m = t.merge(xref[KEYS + ["demand_key"]], on=KEYS, how="left").reset_index(drop=True)
    # a record without truth incident (consultation ticket) is its own incident
    truth_lab = m["incident_id"].fillna("solo:" + m["source_key"])
    got_lab = m["demand_key"].fillna("none:" + m["source_key"])
    return {
        "demand_rows": len(m),
        "demand_missing": int(m["demand_key"].isna().sum()),
        **pairwise(truth_lab, got_lab),
    }


def score_frames(truth: pd.DataFrame, tables: dict[str, pd.DataFrame]) -> dict:
    out: dict = {}
    if "grid_xref" in tables:
        out["grid"] = grid_scores(truth, tables["grid_xref"])
        place = tables["grid_xref"]
        out["grid"]["duplicate_rows"] = int(place.duplicated(KEYS).sum())
    if "estate_xref" in tables:
        out["estate"] = cluster_accuracy(truth, tables["estate_xref"], "estate_id", "estate_key")
    if "org_xref" in tables and "dim_org" in tables:
        x = tables["org_xref"].merge(tables["dim_org"][["org_key", "uscc"]], on="org_key", how="left")
        t = truth[truth["org_id"].notna()][KEYS + ["org_id"]]
        m = t.merge(x[KEYS + ["org_key", "uscc"]], on=KEYS, how="left")
        out["org"] = {
            "accuracy_uscc": float((m["uscc"] == m["org_id"]).mean()),
            "rows": len(m),
            **cluster_accuracy(truth, tables["org_xref"], "org_id", "org_key"),
        }
    if "demand_xref" in tables:
        out["demand"] = demand_scores(truth, tables["demand_xref"])
    return out


def score_duckdb(home: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        tables = {}
        for name in ("grid_xref", "estate_xref", "org_xref", "dim_org", "demand_xref"):
            try:
                tables[name] = con.execute(f"select * from identity.{name}").df()
            except duckdb.Error:
                pass
    finally:
        con.close()
    return score_frames(load_truth(home), tables)


if __name__ == "__main__":
    import json

    print(json.dumps(score_duckdb(Path(sys.argv[1])), ensure_ascii=False, indent=2, default=str))
