"""Deterministic random streams: one independent numpy Generator per (seed, label)."""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, *labels: str | int) -> np.random.Generator:
    """A Generator that depends only on the seed and the labels (stable across runs and hosts)."""
    keys = [int(seed) & 0xFFFFFFFF] + [zlib.crc32(str(label).encode("utf-8")) for label in labels]
    return np.random.default_rng(np.random.SeedSequence(keys))


def pick(rng: np.random.Generator, options: list, n: int, p: list[float] | None = None) -> np.ndarray:
    """n choices from options as an object array (probabilities normalised)."""
    arr = np.empty(len(options), dtype=object)
    arr[:] = options
    if p is not None:
        probs = np.asarray(p, dtype=float)
        probs = probs / probs.sum()
        return arr[rng.choice(len(options), size=n, p=probs)]
    return arr[rng.integers(0, len(options), size=n)]
