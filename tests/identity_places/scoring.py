"""Scores of the place / estate / org / demand identity tables: they live in bench/identity/places.py (shared
with bench/generalise.py); this module re-exports them for test_identity_places.py.

    python tests/identity_places/scoring.py /path/to/YIWANG_HOME     (DuckDB warehouse)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.identity.places import (  # noqa: E402,F401
    KEYS,
    cluster_accuracy,
    demand_scores,
    grid_scores,
    load_truth,
    pairwise,
    score_duckdb,
    score_frames,
)

if __name__ == "__main__":
    import json

    print(json.dumps(score_duckdb(Path(sys.argv[1])), ensure_ascii=False, indent=2, default=str))
