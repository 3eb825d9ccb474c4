"""A day's refresh after a full build, end to end through Airflow: what one day of changes costs today.

    nice -n 10 .venv/bin/python bench/incremental.py --scale small [--home /tmp/yiwang-incr] [--fraction 0.01]
        [--days 1] [--json out.json]

In one fresh YIWANG_HOME (the same secrets for every step, so pseudonyms and keys stay comparable):

1. **full**: ``yiwang demo --scale S`` — simulate, then every DAG run in one Airflow process (``yiwang.airflow_runs``:
   ``DAG.test()`` per DAG as ``airflow dags test`` runs it; the six extract DAGs, then the build DAG: freshness, raw
   gate, dbt, mart gate, publish, docs);
2. **a day of changes** (``simulator.simulate_increment``, once per ``--days``): new and updated records in every
   system (party, grid: updated and new rows with later cursors; approval, services: updated and new API records;
   hotline: a new day's file; property: an owners file re-sent with corrections). ``--fraction`` is the share of
   each system's records changed per day;
3. **increment**: ``yiwang demo --scale S`` again over the changed sources (the sources are current, so nothing is
   simulated): the same DAGs, as a daily schedule would run them.

For the full run and the increment it prints, per stage, the wall seconds (Airflow's own task start/end times from
its metadata database), the rows the extract read (``ops.load_ledger``: delta extraction reads what changed) and
the rows the build (re)wrote (every table dbt materialises in the published schemas, counted after the run: a
table model rebuilds all its rows whatever changed), and the ratio increment/full. Issue 14's target for the
increment is 60 s end to end; the rows columns show which stages follow the delta and which the total.
Figures are from whatever machine this runs on: on a shared machine say so next to them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sqlite3
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.measure import run_measured  # noqa: E402

YIWANG = str(Path(sys.executable).parent / "yiwang")
PY = sys.executable


def layer_of(schema: str) -> str | None:
    """The layer of a schema dbt builds (dbt_project.yml's folder config names them so): ``mart_<x>`` marts,
    ``identity`` the identity layer, ``intermediate``, ``int_<domain>`` and ``identity_<work>`` intermediate;
    staging (views) and the build schemas (``__build``) are not counted."""
    if schema.endswith("__build"):
        return None
    if schema.startswith("mart_"):
        return "marts"
    if schema == "identity":
        return "identity"
    if schema == "intermediate" or schema.startswith(("int_", "identity_")):
        return "intermediate"
    return None


def stage_of(dag_id: str, task_id: str) -> str:
    """A build DAG task's stage, by its task id (dags/build.py); extract DAGs are one stage per system."""
    if dag_id.startswith("yiwang_extract_"):
        return "extract " + dag_id.removeprefix("yiwang_extract_")
    t = task_id.lower()
    for key, stage in (
        ("raw_gate", "raw gate"),
        ("mart_gate", "mart gate"),
        ("freshness", "freshness"),
        ("publish", "publish"),
        ("docs", "docs"),
    ):
        if key in t:
            return stage
    return "dbt"


def airflow_stages(airflow_db: Path, since: dt.datetime) -> dict[str, float]:
    """Seconds per stage from Airflow's metadata (task instances that started after ``since``): per extract
    DAG its run's wall time; in the build DAG the summed task durations per stage (tasks run one at a time on
    the embedded default), and the build DAG's wall time."""
    con = sqlite3.connect(airflow_db)
    try:
        runs = con.execute(
            "select dag_id, start_date, end_date from dag_run where start_date >= ? order by start_date",
            [since.strftime("%Y-%m-%d %H:%M:%S")],
        ).fetchall()
        tis = con.execute(
            "select dag_id, task_id, duration from task_instance where start_date >= ? and duration is not null",
            [since.strftime("%Y-%m-%d %H:%M:%S")],
        ).fetchall()
    finally:
        con.close()
    out: dict[str, float] = {}
    for dag_id, start, end in runs:
        if not (start and end):
            continue
        secs = (
            dt.datetime.fromisoformat(str(end)[:26]) - dt.datetime.fromisoformat(str(start)[:26])
        ).total_seconds()
        if dag_id.startswith("yiwang_extract_"):
            out[stage_of(dag_id, "")] = out.get(stage_of(dag_id, ""), 0.0) + secs
        else:
            out["build DAG (wall)"] = out.get("build DAG (wall)", 0.0) + secs
    for dag_id, task_id, duration in tis:
        if dag_id.startswith("yiwang_extract_"):
            continue
        key = "build: " + stage_of(dag_id, task_id)
        out[key] = out.get(key, 0.0) + float(duration)
    return out


def warehouse_rows(warehouse: Path, since: dt.datetime) -> dict[str, int]:
    """Rows the extract read since ``since`` per system, and rows in every table of each built layer."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        out = {
            f"extract {system}": int(n)
            for system, n in con.execute(
                "select system, sum(rows_read) from ops.load_ledger where started_at >= ? group by system",
                [since.replace(tzinfo=None)],
            ).fetchall()
        }
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE'"
        ).fetchall()
        for layer in ("intermediate", "identity", "marts"):
            out[f"build: dbt {layer} tables"] = sum(
                int(con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0])
                for s, t in tables
                if layer_of(s) == layer
            )
        return out
    finally:
        con.close()


def run_pass(label: str, args: argparse.Namespace, env: dict[str, str], home: Path) -> dict:
    since = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=1)
    print(f"[{label}] yiwang demo --scale {args.scale} --seed {args.seed} ...", flush=True)
    secs, peak = run_measured([YIWANG, "demo", "--scale", args.scale, "--seed", str(args.seed)], env)
    print(f"[{label}] {secs:.0f} s, peak RSS {peak / 2**30:.2f} GiB", flush=True)
    return {
        "seconds": secs,
        "peak_rss": peak,
        "stages": airflow_stages(home / "airflow" / "airflow.db", since),
        "rows": warehouse_rows(home / "warehouse.duckdb", since),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", default="small")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--home", type=Path, default=Path("/tmp/yiwang-bench-incremental"))
    ap.add_argument(
        "--fraction", type=float, default=0.01, help="share of each system's records changed per day"
    )
    ap.add_argument("--days", type=int, default=1, help="days of changes delivered before the increment run")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    home = args.home.resolve()
    if home.exists() and any(home.iterdir()):
        sys.exit(f"{home} is not empty: give a new --home (the bench needs a fresh one)")
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, YIWANG_HOME=str(home))
    # the same secrets for both passes (local throwaways unless set): a new HMAC key would change every pseudonym
    for var in ("YIWANG_APPROVAL_TOKEN", "YIWANG_SERVICES_API_KEY", "YIWANG_HMAC_KEY"):
        env.setdefault(var, f"bench-incremental-{var.lower()}")
    for var in (
        "YIWANG_WAREHOUSE_URL",
        "YIWANG_DUCKDB_PATH",
        "DBT_TARGET_PATH",
        "YIWANG_BUILD_SCHEMA_SUFFIX",
    ):
        env.pop(var, None)

    full = run_pass("full", args, env, home)

    t0 = time.perf_counter()
    change = (
        "import json, sys; from pathlib import Path; from simulator.increment import simulate_increment; "
        "out = [simulate_increment(Path(sys.argv[1]), seed=int(sys.argv[2]) + d, fraction=float(sys.argv[3])) "
        "for d in range(int(sys.argv[4]))]; print(json.dumps(out))"
    )
    secs, _ = run_measured(
        [PY, "-c", change, str(home / "sources"), str(args.seed), str(args.fraction), str(args.days)],
        dict(env, PYTHONPATH=str(REPO)),
    )
    print(f"[changes] {args.days} day(s) at fraction {args.fraction}: {secs:.0f} s", flush=True)
    incr = run_pass("increment", args, env, home)
    changed_s = time.perf_counter() - t0

    keys = sorted({*full["stages"], *incr["stages"], *full["rows"], *incr["rows"]})
    print(
        f"\n{'stage':34} {'full s':>8} {'incr s':>8} {'ratio':>6} {'full rows':>11} {'incr rows':>11} {'ratio':>6}"
    )
    for k in keys:
        fs, is_ = full["stages"].get(k), incr["stages"].get(k)
        fr, ir = full["rows"].get(k), incr["rows"].get(k)

        def cell(v: float | int | None, fmt: str) -> str:
            return format(v, fmt) if v is not None else "-".rjust(int(fmt.split(".")[0].rstrip(",d")))

        def ratio(a: float | int | None, b: float | int | None) -> str:
            return f"{b / a:.2f}" if a and b is not None else "-"

        print(
            f"{k:34} {cell(fs, '8.1f')} {cell(is_, '8.1f')} {ratio(fs, is_):>6} "
            f"{cell(fr, '11,d')} {cell(ir, '11,d')} {ratio(fr, ir):>6}"
        )
    print(
        f"{'end to end (yiwang demo)':34} {full['seconds']:8.1f} {incr['seconds']:8.1f} "
        f"{incr['seconds'] / full['seconds']:6.2f}   peak RSS {full['peak_rss'] / 2**30:.2f} / "
        f"{incr['peak_rss'] / 2**30:.2f} GiB"
    )
    print(f"(changes + increment: {changed_s:.0f} s; target for a day's increment: 60 s end to end)")
    if args.json:
        args.json.write_text(
            json.dumps({"full": full, "increment": incr}, indent=2, default=str), encoding="utf-8"
        )


if __name__ == "__main__":
    main()
