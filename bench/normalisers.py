"""The heaviest staging and identity models, this tree against a baseline commit, on one built warehouse.

    nice -n 10 .venv/bin/python bench/normalisers.py --home /work/bench-medium --work /tmp/normalisers-bench
    .venv/bin/python bench/normalisers.py --home H --models stg_grid__residents,int_place_addresses_parsed --repeat 3

Each side (the baseline commit, ``--baseline``, default ``main``, checked out as a detached worktree under
``<work>/baseline-src``; and this tree) compiles the models with ``dbt compile --full-refresh`` (the SQL of a
full build; ``PYTHONPATH`` puts that side's code first), into its own target path. Then ONE DuckDB connection to
a copy of the home's warehouse (the home is only read), with the memory_limit, temp_directory and threads of
yiwang.settings and the pseudonym UDF, runs each model's SQL as ``create or replace temp table ... as <sql>``,
baseline and new alternating ``--repeat`` times (the lower time of each counts): wall and CPU seconds (the CPU
of this process's threads, steadier on a loaded machine) and baseline/new.
Then the two results are compared: the same columns and types, the same row count, and EXCEPT ALL empty both
ways. Nothing here asserts a figure; say SHARED when the machine was loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.city import bench_env  # noqa: E402
from bench.measure import baseline_tree  # noqa: E402

MODELS = (
    "stg_grid__residents",
    "stg_approval__cases",
    "stg_property__owners",
    "int_residents_records_prepared",
    "int_place_addresses_parsed",
)
COMPILE = (
    "import json, sys; from yiwang.dbt_runner import run_dbt; "
    "run_dbt(['compile', '--full-refresh', '--select', *json.loads(sys.argv[1])])"
)


def compiled_sql(side: str, src: Path, work: Path, models: list[str]) -> dict[str, str]:
    """Each model's SQL as ``src``'s code compiles it for a full build."""
    env = bench_env(work)
    target = work / f"target-{side}"
    env.update(PYTHONPATH=str(src), DBT_TARGET_PATH=str(target), DBT_LOG_PATH=str(work / f"logs-{side}"))
    subprocess.run(
        [sys.executable, "-c", COMPILE, json.dumps(models)],
        cwd=src,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    results = json.loads((target / "run_results.json").read_text())["results"]
    out = {r["unique_id"].rsplit(".", 1)[-1]: r["compiled_code"] for r in results}
    return {m: out[m] for m in models}


def timed(con: Any, sql: str, table: str) -> tuple[float, float]:
    """Wall and CPU seconds (every thread of this process: DuckDB's and the pseudonym UDF's) of one build."""
    t0, c0 = time.perf_counter(), time.process_time()
    con.execute(f"create or replace temp table {table} as {sql}")
    return time.perf_counter() - t0, time.process_time() - c0


def compare(con: Any, a: str, b: str) -> dict[str, Any]:
    """Columns/types, row counts and EXCEPT ALL both ways of two temp tables."""
    cols = [con.execute(f"select column_name, column_type from (describe {t})").fetchall() for t in (a, b)]
    rows = [con.execute(f"select count(*) from {t}").fetchone()[0] for t in (a, b)]
    only_a = con.execute(f"select count(*) from (select * from {a} except all select * from {b})").fetchone()[
        0
    ]
    only_b = con.execute(f"select count(*) from (select * from {b} except all select * from {a})").fetchone()[
        0
    ]
    same = cols[0] == cols[1] and rows[0] == rows[1] and only_a == 0 and only_b == 0
    return {
        "same_columns": cols[0] == cols[1],
        "rows": rows,
        "only_baseline": only_a,
        "only_new": only_b,
        "identical": same,
    }


def run(work: Path, sql: dict[str, dict[str, str]], repeat: int) -> list[dict[str, Any]]:
    import duckdb
    from duckdb.sqltypes import VARCHAR

    from yiwang.dbt_duckdb_udf import FUNCTION_NAME, _token
    from yiwang.warehouse import apply_duckdb_limits

    os.environ.update({k: v for k, v in bench_env(work).items() if k.startswith("YIWANG_")})
    con = duckdb.connect(str(work / "warehouse.duckdb"))
    apply_duckdb_limits(con)
    con.create_function(FUNCTION_NAME, _token, [VARCHAR], VARCHAR)
    rows = []
    for model in sql["baseline"]:
        secs: dict[str, list[tuple[float, float]]] = {"baseline": [], "new": []}
        for _ in range(repeat):
            for side in ("baseline", "new"):
                secs[side].append(timed(con, sql[side][model], f"bench_{side}"))
        check = compare(con, "bench_baseline", "bench_new")
        (base, base_cpu), (new, new_cpu) = min(secs["baseline"]), min(secs["new"])
        rows.append(
            {
                "model": model,
                "baseline_s": base,
                "new_s": new,
                "ratio": base / new,
                "baseline_cpu_s": base_cpu,
                "new_cpu_s": new_cpu,
                "cpu_ratio": base_cpu / new_cpu,
                **check,
                "all_baseline_s": secs["baseline"],
                "all_new_s": secs["new"],
            }
        )
        r = rows[-1]
        print(
            f"{model:34} {base:8.2f} {new:8.2f} {r['ratio']:7.2f}x {base_cpu:8.2f} {new_cpu:8.2f} "
            f"{r['cpu_ratio']:7.2f}x  rows {r['rows'][0]:>9,}  "
            f"{'identical' if r['identical'] else 'DIFFERENT ' + json.dumps(check)}",
            flush=True,
        )
        con.execute("drop table bench_baseline")
        con.execute("drop table bench_new")
    con.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", type=Path, required=True, help="a built YIWANG_HOME (only read)")
    ap.add_argument(
        "--work",
        type=Path,
        default=Path("/tmp/yiwang-normalisers-bench"),
        help="scratch directory: the warehouse copy, both targets, the baseline worktree",
    )
    ap.add_argument("--baseline", default="main", help="the commit to compare with (default main)")
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated model names")
    ap.add_argument(
        "--repeat", type=int, default=2, help="runs of each side per model (the lower time counts)"
    )
    ap.add_argument("--json", type=Path, help="write every figure here")
    args = ap.parse_args()
    models = [m for m in args.models.split(",") if m]
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args.home / "warehouse.duckdb", work / "warehouse.duckdb")
    sides = {"baseline": baseline_tree(work, args.baseline), "new": REPO}
    sql = {side: compiled_sql(side, src, work, models) for side, src in sides.items()}
    base_rev = subprocess.run(
        ["git", "-C", str(sides["baseline"]), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(
        f"baseline {args.baseline} ({base_rev}) vs this tree, on a copy of {args.home / 'warehouse.duckdb'}; "
        f"lower of {args.repeat} runs each"
    )
    print(
        f"{'model':34} {'base s':>8} {'new s':>8} {'base/new':>8} {'base cpu':>8} {'new cpu':>8} {'base/new':>8}"
    )
    rows = run(work, sql, args.repeat)
    tb, tn = sum(r["baseline_s"] for r in rows), sum(r["new_s"] for r in rows)
    cb, cn = sum(r["baseline_cpu_s"] for r in rows), sum(r["new_cpu_s"] for r in rows)
    print(f"{'total':34} {tb:8.2f} {tn:8.2f} {tb / tn:7.2f}x {cb:8.2f} {cn:8.2f} {cb / cn:7.2f}x")
    if args.json:
        args.json.write_text(json.dumps({"baseline": base_rev, "rows": rows}, indent=1))
    if not all(r["identical"] for r in rows):
        sys.exit("outputs differ")


if __name__ == "__main__":
    main()
