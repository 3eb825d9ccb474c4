"""Time the pipeline stage by stage and print rows/s and peak memory.

    .venv/bin/python bench/pipeline.py --scale medium [--scale city] [--home /tmp/yiwang-bench]

Each stage runs as its own `yiwang` subprocess (so its peak RSS is its own), in a fresh YIWANG_HOME:
simulate, extract per system, build (raw gate + dbt build + mart gate). In the same command, a baseline
copies each SQL source table into a bare DuckDB table with pandas (no hashing, ledger or dedup), so the
landing overhead is printed as a ratio against it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.measure import run_measured  # noqa: E402

YIWANG = str(Path(sys.executable).parent / "yiwang")
SYSTEMS = ("party", "grid", "approval", "property", "services", "hotline")


def ledger_rows(warehouse: Path, system: str) -> int:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return int(
            con.execute(
                "select coalesce(sum(rows_read), 0) from ops.load_ledger where system = ?", [system]
            ).fetchone()[0]
        )
    finally:
        con.close()


def baseline_copy(sqlite_path: Path, target: Path) -> tuple[int, float]:
    """Plain pandas read + DuckDB insert of every table: the floor any loader is compared with."""
    import duckdb
    import pandas as pd

    t0 = time.perf_counter()
    src = sqlite3.connect(sqlite_path)
    con = duckdb.connect(str(target))
    n = 0
    for (table,) in src.execute("select name from sqlite_master where type = 'table'").fetchall():
        for i, chunk in enumerate(pd.read_sql_query(f'select * from "{table}"', src, chunksize=50_000)):
            chunk = chunk.astype(str)
            con.register("chunk", chunk)
            if i == 0:
                con.execute(f'create or replace table "{table}" as select * from chunk')
            else:
                con.execute(f'insert into "{table}" select * from chunk')
            con.unregister("chunk")
            n += len(chunk)
    con.close()
    src.close()
    return n, time.perf_counter() - t0


def bench_scale(scale: str, home: Path) -> list[dict]:
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = dict(os.environ, YIWANG_HOME=str(home))
    for var in ("YIWANG_APPROVAL_TOKEN", "YIWANG_SERVICES_API_KEY", "YIWANG_HMAC_KEY"):
        env.setdefault(var, "bench-" + var.lower())
    rows: list[dict] = []

    secs, peak = run_measured([YIWANG, "simulate", "--scale", scale], env)
    manifest = json.loads((home / "sources" / "manifest.json").read_text())
    total = sum(
        sum(t.values())
        for t in (manifest.get("counts") or manifest.get("row_counts") or {}).values()
        if isinstance(t, dict)
    )
    rows.append({"stage": "simulate", "rows": total, "seconds": secs, "peak_mb": peak / 2**20})

    from simulator import http_api

    server = http_api.serve_in_thread(
        home / "sources",
        port=0,
        approval_token=env["YIWANG_APPROVAL_TOKEN"],
        services_api_key=env["YIWANG_SERVICES_API_KEY"],
    )
    env["YIWANG_APPROVAL_URL"] = f"{server.url}/approval"
    env["YIWANG_SERVICES_URL"] = f"{server.url}/services"
    try:
        secs, peak = run_measured([YIWANG, "extract", "reference"], env)
        for system in SYSTEMS:
            secs, peak = run_measured([YIWANG, "extract", system], env)
            n = ledger_rows(home / "warehouse.duckdb", system)
            rows.append(
                {"stage": f"extract+load {system}", "rows": n, "seconds": secs, "peak_mb": peak / 2**20}
            )
    finally:
        server.stop()

    raw_total = sum(r["rows"] for r in rows if r["stage"].startswith("extract"))
    secs, peak = run_measured([YIWANG, "build"], env)
    rows.append({"stage": "gates + dbt build", "rows": raw_total, "seconds": secs, "peak_mb": peak / 2**20})

    # baseline in the same command: bare copy of the SQL sources
    base_rows, base_secs = 0, 0.0
    for db in ("party.sqlite", "grid.sqlite"):
        n, s = baseline_copy(home / "sources" / db, home / "baseline.duckdb")
        base_rows, base_secs = base_rows + n, base_secs + s
    sql_secs = sum(r["seconds"] for r in rows if r["stage"] in ("extract+load party", "extract+load grid"))
    sql_rows = sum(r["rows"] for r in rows if r["stage"] in ("extract+load party", "extract+load grid"))
    rows.append(
        {
            "stage": "baseline: bare pandas copy of party+grid",
            "rows": base_rows,
            "seconds": base_secs,
            "peak_mb": float("nan"),
        }
    )
    rows.append(
        {
            "stage": "ratio: yiwang SQL load time / baseline",
            "rows": sql_rows,
            "seconds": sql_secs / base_secs if base_secs else float("nan"),
            "peak_mb": float("nan"),
        }
    )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", action="append", choices=["small", "medium", "city"])
    ap.add_argument("--home", type=Path, default=Path("/tmp/yiwang-bench"))
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    results = {}
    for scale in args.scale or ["medium"]:
        print(f"== {scale}", flush=True)
        rows = bench_scale(scale, args.home / scale)
        results[scale] = rows
        print(f"{'stage':45} {'rows':>10} {'seconds':>9} {'rows/s':>10} {'peak MB':>9}")
        for r in rows:
            rate = (
                r["rows"] / r["seconds"]
                if r["seconds"] and not r["stage"].startswith("ratio")
                else float("nan")
            )
            print(
                f"{r['stage']:45} {r['rows']:>10} {r['seconds']:>9.2f} {rate:>10.0f} {r['peak_mb']:>9.0f}",
                flush=True,
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
