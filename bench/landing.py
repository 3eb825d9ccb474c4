"""Extract+load and the raw gate, this tree against a baseline commit, on the same simulated sources.

    nice -n 10 .venv/bin/python bench/landing.py --home /work/bench-land/h500k --scale 500000
    nice -n 10 .venv/bin/python bench/landing.py --home H --scale city --systems grid --no-gate

The baseline is another commit of this repository (``--baseline``, default ``main``), checked out once as a
detached git worktree under ``<home>/baseline-src`` and run with this virtualenv (``PYTHONPATH`` puts its code
first). For each side, into a fresh warehouse of its own (``<home>/<side>/``, the sources shared): ``yiwang
extract reference`` and ``yiwang extract <system>`` for every system asked, each in its own process (wall
seconds, CPU seconds, peak RSS of the process tree; rows from ops.load_ledger); then the raw gate over that
warehouse (``--no-gate`` skips it; it reads every system, so ask for all of them to gate them all). HTTP sources
are served in this process, outside the measured ones.

Then the two warehouses are compared: every raw table row for row (all columns but ``_batch_id`` and
``_loaded_at``: the row hashes included), the ledger's read/landed/new/quarantined per table, the quarantine
per rule, and the gate's verdicts (per suite: success, rows checked, rows quarantined; the rejected row hashes).
A difference is printed; nothing here asserts a timing. The machine may be shared: say so when quoting.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.city import bench_env  # noqa: E402
from bench.measure import baseline_tree, run_measured  # noqa: E402

SYSTEMS = ("party", "grid", "approval", "property", "services", "hotline")
YIWANG = "import sys; sys.argv[0] = 'yiwang'; from yiwang.cli import run; run()"
GATE = "from expectations.run import run_raw_gate; print(run_raw_gate(raise_on_failure=False).summary())"


def simulate(home: Path, scale: str) -> None:
    manifest = home / "sources" / "manifest.json"
    if manifest.exists():
        print(f"sources: reusing {home / 'sources'} ({json.loads(manifest.read_text()).get('scale')})")
        return
    from rich.console import Console

    from yiwang.demo import run_simulator

    os.environ.setdefault("YIWANG_HOME", str(home))
    run_simulator(home / "sources", scale=scale, seed=42, console=Console())


def measured(args: list[str], env: dict[str, str], cwd: Path) -> dict[str, float]:
    """Wall seconds, CPU seconds (user + system of the process and its children) and peak RSS of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    old = os.getcwd()
    os.chdir(cwd)
    try:
        secs, peak = run_measured(args, env)
    finally:
        os.chdir(old)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"seconds": secs, "cpu": cpu, "peak": peak}


def run_side(name: str, src: Path, home: Path, systems: list[str], gate: bool) -> list[dict[str, Any]]:
    """Extract (and gate) into a fresh warehouse at ``<home>/<name>`` with the code of ``src``."""
    import shutil

    from simulator import http_api

    side = home / name
    shutil.rmtree(side, ignore_errors=True)
    side.mkdir(parents=True)
    (side / "sources").symlink_to(home / "sources")
    env = bench_env(side)
    env["PYTHONPATH"] = str(src)
    server = http_api.serve_in_thread(
        home / "sources",
        port=0,
        approval_token=env["YIWANG_APPROVAL_TOKEN"],
        services_api_key=env["YIWANG_SERVICES_API_KEY"],
    )
    env.update(YIWANG_APPROVAL_URL=f"{server.url}/approval", YIWANG_SERVICES_URL=f"{server.url}/services")
    rows = []
    try:
        for system in ["reference", *systems]:
            m = measured([sys.executable, "-c", YIWANG, "extract", system], env, src)
            rows.append({"side": name, "stage": f"extract+load {system}", "system": system, **m})
            print(
                f"   {name} {rows[-1]['stage']}: {m['seconds']:.1f} s, {m['peak'] / 2**20:.0f} MB", flush=True
            )
    finally:
        server.stop()
    counts = ledger(side / "warehouse.duckdb")
    for r in rows:
        r["rows"] = sum(n for (system, _), (n, *_) in counts.items() if system == r["system"])
    if gate:
        m = measured([sys.executable, "-c", GATE], env, src)
        rows.append({"side": name, "stage": "raw gate", "system": None, "rows": None, **m})
        print(f"   {name} raw gate: {m['seconds']:.1f} s, {m['peak'] / 2**20:.0f} MB", flush=True)
    return rows


def ledger(warehouse: Path) -> dict[tuple[str, str], tuple[int, int, int, int]]:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {
            (s, t): tuple(int(x) for x in rest)
            for s, t, *rest in con.execute(
                "select system, table_name, sum(rows_read), sum(rows_landed), sum(rows_new), "
                "sum(rows_quarantined) from ops.load_ledger group by all"
            ).fetchall()
        }
    finally:
        con.close()


def compare(home: Path, a: str, b: str, gate: bool) -> list[str]:
    """What differs between the two sides' warehouses (empty: nothing)."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"attach '{home / a / 'warehouse.duckdb'}' as a (read_only)")
    con.execute(f"attach '{home / b / 'warehouse.duckdb'}' as b (read_only)")
    diffs: list[str] = []
    tables = con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = 'a' "
        "and schema_name like 'raw_%' order by all"
    ).fetchall()
    for schema, table in tables:
        cols = [
            c
            for (c,) in con.execute(
                "select column_name from duckdb_columns() where database_name = 'a' and schema_name = ? "
                "and table_name = ? and column_name not in ('_batch_id', '_loaded_at') order by column_index",
                [schema, table],
            ).fetchall()
        ]
        sel = ", ".join(f'"{c}"' for c in cols)
        for x, y in (("a", "b"), ("b", "a")):
            n = con.execute(
                f'select count(*) from (select {sel} from {x}."{schema}"."{table}" '
                f'except all select {sel} from {y}."{schema}"."{table}")'
            ).fetchone()[0]
            if n:
                diffs.append(f"{schema}.{table}: {n} row(s) of {x} not in {y}")
    queries = {
        "ledger": "select system, table_name, sum(rows_read), sum(rows_landed), sum(rows_new), "
        "sum(rows_quarantined), count(*) from {db}.ops.load_ledger group by all",
        "quarantine": "select system, table_name, rule, status, count(*) from {db}.ops.quarantine group by all",
    }
    if gate:
        queries["gate verdicts"] = (
            "select suite, success, rows_checked, rows_quarantined from {db}.ops.gate_log where gate = 'raw'"
        )
        queries["gate rejects"] = "select system, table_name, _row_hash, rule from {db}.ops.raw_rejects"
    for what, sql in queries.items():
        got = [set(con.execute(sql.format(db=db)).fetchall()) for db in ("a", "b")]
        if got[0] != got[1]:
            diffs.append(f"{what}: {len(got[0] - got[1])} only in {a}, {len(got[1] - got[0])} only in {b}")
    con.close()
    return diffs


def report(rows: list[dict[str, Any]], base: str, new: str) -> None:
    print(
        f"\n{'stage':28} {'rows':>10} | {base + ' s':>10} {'cpu s':>7} {'MB':>6} | {new + ' s':>10} "
        f"{'cpu s':>7} {'MB':>6} | {'wall x':>6} {'cpu x':>6} {'rows/s new':>10}"
    )
    by = {(r["side"], r["stage"]): r for r in rows}
    for stage in dict.fromkeys(r["stage"] for r in rows):
        a, b = by.get((base, stage)), by.get((new, stage))
        if not a or not b:
            continue
        rate = b["rows"] / b["seconds"] if b.get("rows") else None
        print(
            f"{stage:28} {b['rows'] or '':>10} | {a['seconds']:>10.1f} {a['cpu']:>7.1f} {a['peak'] / 2**20:>6.0f} | "
            f"{b['seconds']:>10.1f} {b['cpu']:>7.1f} {b['peak'] / 2**20:>6.0f} | "
            f"{a['seconds'] / b['seconds']:>6.2f} {a['cpu'] / b['cpu']:>6.2f} {rate or 0:>10.0f}"
        )
    print("(x: baseline / new; MB: peak RSS of the stage's process tree)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--home", type=Path, required=True, help="sources in <home>/sources (simulated if missing)"
    )
    ap.add_argument("--scale", default="500000", help="small|medium|city or a resident count (to simulate)")
    ap.add_argument("--baseline", default="main", help="the commit to compare with (default main)")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated (default: all six)")
    ap.add_argument("--no-gate", action="store_true", help="extract+load only")
    ap.add_argument("--only", choices=["baseline", "new"], help="run one side (no comparison)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    home = args.home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    simulate(home, args.scale)
    systems = [s for s in args.systems.split(",") if s]
    sides = {"baseline": baseline_tree(home, args.baseline), "new": REPO}
    rows: list[dict[str, Any]] = []
    for name, src in sides.items():
        if args.only and name != args.only:
            continue
        t0 = time.perf_counter()
        rows += run_side(name, src, home, systems, not args.no_gate)
        print(f"-- {name} ({src}): {time.perf_counter() - t0:.0f} s", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    if args.only:
        return
    report(rows, "baseline", "new")
    diffs = compare(home, "baseline", "new", not args.no_gate)
    print(
        "\nwarehouses compared (raw rows and hashes, ledger, quarantine" + ("" if args.no_gate else ", gate"),
        end="",
    )
    print("): identical" if not diffs else "): DIFFERENT")
    for d in diffs:
        print("  " + d)


if __name__ == "__main__":
    main()
