"""Clustering scores against ground truth: pairwise and B-cubed precision / recall / F1.

Both take a frame with one row per record and two label columns (`pred`, `true`); records whose true
label is null (anonymous callers, ...) are left out, as the truth says nothing about them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class PRF:
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def _pairs(sizes: pd.Series) -> float:
    s = sizes.astype("float64")
    return float((s * (s - 1) / 2).sum())


def pairwise(df: pd.DataFrame, pred: str = "pred", true: str = "true") -> PRF:
    d = df[df[true].notna()]
    tp = _pairs(d.groupby([pred, true], dropna=False).size())
    pp = _pairs(d.groupby(pred, dropna=False).size())
    tt = _pairs(d.groupby(true).size())
    return PRF(tp / pp if pp else 1.0, tp / tt if tt else 1.0)


def bcubed(df: pd.DataFrame, pred: str = "pred", true: str = "true") -> PRF:
    d = df[df[true].notna()][[pred, true]].copy()
    both = d.groupby([pred, true], dropna=False).size().rename("n_both").reset_index()
    d = d.merge(both, on=[pred, true])
    d["n_pred"] = d.groupby(pred, dropna=False)[pred].transform("size")
    d["n_true"] = d.groupby(true)[true].transform("size")
    n = len(d)
    if n == 0:
        return PRF(1.0, 1.0)
    return PRF(float((d["n_both"] / d["n_pred"]).sum() / n), float((d["n_both"] / d["n_true"]).sum() / n))


def label_accuracy(df: pd.DataFrame, pred: str = "pred", true: str = "true") -> float:
    """Share of records (with a true label) whose predicted label equals it."""
    d = df[df[true].notna()]
    return float((d[pred].astype(object) == d[true].astype(object)).mean()) if len(d) else float("nan")


def majority_accuracy(df: pd.DataFrame, pred: str = "pred", true: str = "true") -> float:
    """For opaque predicted keys: map each key to its most frequent true label, then score the records
    (a key split over two true labels, or two keys for one label, both cost records)."""
    d = df[df[true].notna()].copy()
    if d.empty:
        return float("nan")
    counts = d.groupby([pred, true], dropna=False).size().rename("n").reset_index()
    counts = counts.sort_values("n", ascending=False)
    # each true label is claimed by at most one key, each key by at most one label (greedy)
    used_keys, used_labels, mapping = set(), set(), {}
    for k, t, _ in counts.itertuples(index=False):
        if k in used_keys or t in used_labels or pd.isna(k):
            continue
        mapping[k] = t
        used_keys.add(k)
        used_labels.add(t)
    return float((d[pred].map(mapping) == d[true]).mean())
