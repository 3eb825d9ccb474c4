"""The raw gate after a day's increment: only the new batches, against every row (what it read before).

    YIWANG_HOME=/tmp/rg-small yiwang demo --no-airflow          # a built city, once (small: ~3 min)
    nice -n 10 .venv/bin/python bench/raw_gate.py --built /tmp/rg-small [--work /tmp/rg-bench] [--fraction 0.01]
        [--repeat 2] [--json out.json]

1. copies the built home (warehouse and sources) to ``--work``; runs the raw gate there once, which records every
   batch it validated (``ops.raw_gate_batches``; a warehouse built before them gets every row read);
2. applies a day of changes (``simulator.simulate_increment``, as ``bench/incremental.py`` does) and extracts every
   system in-process (the approval/services APIs served from the sources on a local port, as ``yiwang demo`` does);
3. keeps that warehouse aside and times, ``--repeat`` times each on a fresh copy of it: the raw gate as it runs
   after the increment (the new batches), and the gate forced to read every row (``full=True``: the work the gate
   did on every build before it kept records).

Prints seconds and rows read per run and the ratio. Each gate runs in its own process (GX import included, as an
Airflow task pays it). Figures are from whatever machine this runs on: on a shared machine say so next to them.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable

GATE = (
    "import json, sys; from expectations.run import run_raw_gate; "
    "r = run_raw_gate(raise_on_failure=False, full=sys.argv[1] == 'full'); "
    "print('RESULT ' + json.dumps({'success': r.success, 'rows': sum(r.rows_read.values()), "
    "'quarantined': r.quarantined}))"
)
EXTRACT = "from yiwang.demo import extract_simulated_sources; extract_simulated_sources()"
CHANGE = (
    "import json, sys; from pathlib import Path; from simulator.increment import simulate_increment; "
    "print(json.dumps(simulate_increment(Path(sys.argv[1]), seed=int(sys.argv[2]), fraction=float(sys.argv[3]))))"
)


def _run(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return seconds, proc.stdout


def gate(env: dict[str, str], mode: str) -> dict:
    seconds, out = _run([PY, "-c", GATE, mode], env)
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    return {"seconds": seconds, **json.loads(line.removeprefix("RESULT "))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--built", type=Path, required=True, help="a YIWANG_HOME a `yiwang demo` built")
    ap.add_argument("--work", type=Path, default=Path("/tmp/rg-bench"))
    ap.add_argument("--fraction", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    shutil.rmtree(args.work, ignore_errors=True)
    home = args.work / "home"
    shutil.copytree(
        args.built, home, ignore=shutil.ignore_patterns("published", "site", "tmp", "gx", "locks")
    )
    env = {**os.environ, "YIWANG_HOME": str(home), "PYTHONPATH": str(REPO)}
    env.pop("YIWANG_WAREHOUSE_URL", None)
    for var in ("YIWANG_APPROVAL_TOKEN", "YIWANG_SERVICES_API_KEY", "YIWANG_HMAC_KEY"):
        env.setdefault(var, secrets.token_urlsafe(24))
    wh = home / "warehouse.duckdb"

    before = gate(env, "delta")
    print(
        f"[gate over the built warehouse] {before['seconds']:.1f} s, {before['rows']} rows read", flush=True
    )
    secs, _ = _run([PY, "-c", CHANGE, str(home / "sources"), str(args.seed), str(args.fraction)], env)
    secs_x, _ = _run([PY, "-c", EXTRACT], env)
    print(f"[a day of changes] simulated {secs:.0f} s, extracted {secs_x:.0f} s", flush=True)
    kept = args.work / "after-increment.duckdb"
    shutil.copy2(wh, kept)

    runs: dict[str, list[dict]] = {"delta": [], "full": []}
    for _ in range(args.repeat):
        for mode in ("delta", "full"):
            shutil.copy2(kept, wh)
            r = gate(env, mode)
            runs[mode].append(r)
            print(
                f"  {mode:5}: {r['seconds']:6.1f} s, {r['rows']:>9} rows read, passed={r['success']}",
                flush=True,
            )
    again = gate(env, "delta")  # after the last full run: nothing new
    med = {m: statistics.median(r["seconds"] for r in rs) for m, rs in runs.items()}
    rows = {m: rs[0]["rows"] for m, rs in runs.items()}
    print(
        f"\nraw gate after the increment: {med['delta']:.1f} s reading {rows['delta']} rows; every row: "
        f"{med['full']:.1f} s reading {rows['full']} rows (ratio {med['delta'] / med['full']:.2f}); "
        f"a rerun with nothing new: {again['seconds']:.1f} s, {again['rows']} rows"
    )
    if args.json:
        args.json.write_text(
            json.dumps({"runs": runs, "median_s": med, "rows": rows, "rerun": again}, indent=1)
        )


if __name__ == "__main__":
    main()
