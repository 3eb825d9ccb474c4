"""Generalisation benchmark: the whole pipeline on simulator variants, scored against each variant's truth,
beside a well-configured Splink 5 on the same prepared records.

    .venv/bin/python bench/generalise.py [--scale small|medium] [--variants seed7,years1] [--home DIR]
                                         [--splink tuned|default|none] [--build all|identity] [--keep] [--fresh]

The identity rules were developed on seed 42 (the tuning seed) of the default city. Each variant changes one
thing: another seed (7, 1234), twice the dirt rate, a one-year window, another number of communities and
grids, a southern surname distribution with repeated two-character given names (simulator knobs, see
`yiwang simulate --help`). Per variant, in a fresh YIWANG_HOME under --home:

1. `yiwang simulate` with the variant's knobs, `yiwang extract` (simulated APIs served on a free port);
2. `yiwang build` (raw gate, every dbt model, mart gate, publish) or, with --build identity, only the seeds, the
   staging models the identity stage reads and the identity stage;
3. the identity stage alone (`dbt run` of every identity model), timed: the hub's identity-stage time;
4. scores: resident B-cubed and pairwise P/R/F1 of identity.resident_xref against truth person_id on the
   records with a person attribute (the ones Splink also sees), grid accuracy and coverage per source table
   (identity.grid_xref), estate / organisation accuracy, demand pairwise P/R/F1 (identity.demand_xref); with
   --build all, each governance metric recomputed independently from raw_* (bench/reconcile.py, the module
   tests/marts/test_metric_reconciliation.py asserts on) against its mart: the largest deviation in points and
   whether it is within 0.5 points;
5. Splink 5 (bench/identity/splink_tuned.py, or the out-of-the-box one of bench/identity/run.py) on the same
   identity_work.int_residents_records_prepared rows, timed, same resident scores.

Each variant's figures go to <home>/<variant>.json as soon as it is done; a later run with the same scale,
build and Splink mode reuses them (resumable; --fresh recomputes). A variant whose pipeline fails is reported
with the failing stage and the end of its output, and the other variants still run. The homes are deleted
after scoring unless --keep. Ends with one table per figure and the minimum over the variants.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.identity.places import grid_scores  # noqa: E402
from bench.identity.run import (  # noqa: E402
    YIWANG,
    bench_env,
    build_for_identity,
    extract,
    identity_stage,
    other_entity_scores,
    read,
    resident_scores,
    splink_baseline,
)
from bench.measure import run_measured  # noqa: E402
from bench.reconcile import TOLERANCE_POINTS, deviations  # noqa: E402

TUNING_SEED = 42


@dataclass(frozen=True)
class Variant:
    label: str
    seed: int = TUNING_SEED
    dirt_rate: float = 0.05
    years: int = 2
    communities: int = 100
    grids: int = 634
    surnames: str = "default"

    def simulate_args(self, scale: str) -> list[str]:
        return [
            "simulate",
            "--scale",
            scale,
            "--seed",
            str(self.seed),
            "--dirt-rate",
            str(self.dirt_rate),
            "--years",
            str(self.years),
            "--communities",
            str(self.communities),
            "--grids",
            str(self.grids),
            "--surnames",
            self.surnames,
        ]


VARIANTS: dict[str, Variant] = {
    "seed42": Variant("the tuning city (seed 42)"),
    "seed7": Variant("seed 7", seed=7),
    "seed1234": Variant("seed 1234", seed=1234),
    "dirt10": Variant("dirt rate 0.10 (2x)", dirt_rate=0.10),
    "years1": Variant("one-year window (2024)", years=1),
    "geo50x250": Variant("50 communities, 250 grids", communities=50, grids=250),
    "southern": Variant("southern surnames, repeated given names", surnames="southern"),
}


def log(variant: str, msg: str, t0: float | None = None) -> None:
    took = f" ({time.perf_counter() - t0:.0f} s)" if t0 is not None else ""
    print(f"[{time.strftime('%H:%M:%S')}] {variant}: {msg}{took}", flush=True)


def variant_env(home: Path) -> dict[str, str]:
    env = bench_env(home)
    env.setdefault("YIWANG_DUCKDB_MEMORY_LIMIT", "3GB")
    # the subprocesses (yiwang, dbt and its plugin) import this checkout's code, wherever it is
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return env


def run_variant(name: str, v: Variant, a: argparse.Namespace) -> dict:
    home = a.home / name
    env = variant_env(home)
    db = home / "warehouse.duckdb"
    res: dict = {
        "variant": name,
        "config": asdict(v),
        "scale": a.scale,
        "build": a.build,
        "splink_mode": a.splink,
        "tuning_seed": v.seed == TUNING_SEED,
        "times": {},
    }
    times = res["times"]
    stage = "simulate"
    marker = home / "built.json"  # written after a successful build: a kept home is reused by the next run
    built = {"config": asdict(v), "scale": a.scale, "build": a.build}
    try:
        prev = json.loads(marker.read_text(encoding="utf-8")) if marker.exists() and db.exists() else {}
        if not a.fresh and {k: prev.get(k) for k in built} == built:
            log(name, f"reusing the built home {home} (simulate / extract / build of an earlier run)")
            times.update(prev["times"])
            t = time.perf_counter()
        else:
            shutil.rmtree(home, ignore_errors=True)
            home.mkdir(parents=True)
            t = time.perf_counter()
            log(name, f"simulate {' '.join(v.simulate_args(a.scale)[1:])}")
            times["simulate"] = run_measured([YIWANG, *v.simulate_args(a.scale)], env)[0]
            stage = "extract"
            log(name, "extract", t)
            t = time.perf_counter()
            times["extract"] = extract(env)[0]
            stage = "build"
            log(name, f"build ({a.build})", t)
            t = time.perf_counter()
            if a.build == "all":
                times["build"] = run_measured([YIWANG, "build"], env)[0]
            else:
                times["build"] = sum(s for s, _ in build_for_identity(env).values())
            marker.write_text(json.dumps({**built, "times": dict(times)}), encoding="utf-8")
        stage = "identity stage"
        log(name, "identity stage alone (dbt run of every identity model)", t)
        t = time.perf_counter()
        times["identity_stage"] = identity_stage(env, whole=True)[0]
        stage = "scoring"
        log(name, f"scoring (identity stage {times['identity_stage']:.0f} s)", t)
        truth = pd.read_parquet(home / "sources" / "truth" / "records.parquet")
        manifest = json.loads((home / "sources" / "manifest.json").read_text(encoding="utf-8"))
        res["geography"] = manifest.get("geography")
        res["span"] = manifest.get("span")
        xref = read(db, "select * from identity.resident_xref")
        res["records"] = len(xref)
        res["yiwang"] = resident_scores(xref, truth, "resident_key")
        res["yiwang_all_records"] = resident_scores(xref, truth, "resident_key", with_attributes_only=False)
        res["others"] = other_entity_scores(db, truth)
        gx = read(db, "select source_system, source_table, source_key, grid_code from identity.grid_xref")
        res["grid"] = grid_scores(truth, gx.drop_duplicates(["source_system", "source_table", "source_key"]))
        if a.build == "all":
            stage = "reconciliation"
            log(name, "metrics recomputed from raw_* (bench/reconcile.py) against the marts")
            try:  # a reconciliation that cannot run is a finding, not a lost variant
                res["reconcile"] = reconcile_variant(db)
            except Exception as e:
                res["reconcile_error"] = f"{type(e).__name__}: {str(e)[-1000:]}"
                log(name, f"reconciliation FAILED: {res['reconcile_error'].splitlines()[0]}")
        if a.splink != "none":
            log(name, f"splink 5 ({a.splink})")
            t = time.perf_counter()
            try:  # a Splink failure is the baseline's, not the hub's: keep the hub's figures
                if a.splink == "tuned":
                    from bench.identity import splink_tuned

                    sp, sp_s, _ = splink_tuned.run(lambda sql: read(db, sql))
                else:
                    sp, sp_s, _ = splink_baseline(db)
                res["splink"] = resident_scores(sp, truth, "cluster_id")
                times["splink"] = sp_s
                log(name, f"splink done (train+predict+cluster {sp_s:.1f} s)", t)
            except Exception as e:
                res["splink_error"] = f"{type(e).__name__}: {str(e)[-1000:]}"
                log(name, f"splink FAILED: {res['splink_error'].splitlines()[0]}")
    except Exception as e:  # a failing variant is a finding: keep its stage and message, go on with the next
        res["error"] = {
            "stage": stage,
            "message": str(e)[-3000:],
            "traceback": traceback.format_exc()[-2000:],
        }
        log(
            name,
            f"FAILED at {stage}: {str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}",
        )
    finally:
        if not a.keep:
            shutil.rmtree(home, ignore_errors=True)
    return res


def reconcile_variant(db: Path) -> list[dict]:
    """Each governance metric's largest deviation from its independent recomputation (bench.reconcile)."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return [{**asdict(d), "within": d.within} for d in deviations(con)]
    finally:
        con.close()


def fmt(x: float | None, width: int = 7) -> str:
    return f"{x:{width}.4f}" if isinstance(x, (int, float)) and x == x else f"{'-':>{width}}"


def print_variant(r: dict) -> None:
    print(
        f"\n== {r['variant']}: {VARIANTS[r['variant']].label if r['variant'] in VARIANTS else ''}"
        f"{'' if r['tuning_seed'] else '  [not the tuning seed]'}"
    )
    if "error" in r:
        print(f"   FAILED at {r['error']['stage']}:\n{r['error']['message']}")
        return
    o, s = r["yiwang"], r.get("splink")
    if r.get("splink_error"):
        print(f"   splink FAILED: {r['splink_error']}")
    print(
        f"   {r['records']:,} person records, {o['records_scored']:,} scored (with a person attribute); "
        f"geography {r.get('geography')}; span {r.get('span')}"
    )
    print(f"   {'resident':<22}{'yiwang':>9}{'splink':>9}")
    for k, label in [
        ("b3_p", "B-cubed precision"),
        ("b3_r", "B-cubed recall"),
        ("b3_f1", "B-cubed F1"),
        ("pair_f1", "pairwise F1"),
    ]:
        print(f"   {label:<22}{fmt(o[k], 9)}{fmt(s[k] if s else None, 9)}")
    g = r["grid"]
    print(
        f"   grid accuracy {fmt(g['grid_accuracy'])}, coverage {fmt(r['others'].get('grid_xref.coverage'))} "
        f"over {g['grid_rows']:,} records; per table (accuracy / coverage / rows):"
    )
    for tbl, acc in g["grid_per_table"].items():
        print(
            f"     {tbl:<22}{fmt(acc)} {fmt(g['grid_coverage_per_table'][tbl])} {g['grid_rows_per_table'][tbl]:>8,}"
        )
    ot = r["others"]
    print(
        f"   estate {fmt(ot.get('estate_xref.accuracy'))}, organisation {fmt(ot.get('org_xref.accuracy'))}, "
        f"demand pairwise P/R/F1 {fmt(ot.get('demand.pair_p'))} {fmt(ot.get('demand.pair_r'))} "
        f"{fmt(ot.get('demand.pair_f1'))}"
    )
    if r.get("reconcile_error"):
        print(f"   reconciliation FAILED: {r['reconcile_error']}")
    if r.get("reconcile"):
        print(
            f"   metrics against their recomputation from raw_* (max deviation in points; within {TOLERANCE_POINTS}):"
        )
        for d in r["reconcile"]:
            dev = "-" if d["max_points"] is None else f"{d['max_points']:.4f}"
            print(
                f"     {d['metric']:<56}{dev:>9}  {'yes' if d['within'] else 'NO ':<4}"
                f"{d['compared']:>6} of {d['of']:<6}{d['note']}"
            )
    t = r["times"]
    print("   times: " + ", ".join(f"{k} {v:.1f} s" for k, v in t.items()))


SUMMARY_COLUMNS = [
    ("yiwang B3 P", lambda r: r["yiwang"]["b3_p"]),
    ("yiwang B3 R", lambda r: r["yiwang"]["b3_r"]),
    ("yiwang B3 F1", lambda r: r["yiwang"]["b3_f1"]),
    ("splink B3 P", lambda r: r["splink"]["b3_p"] if r.get("splink") else None),
    ("splink B3 R", lambda r: r["splink"]["b3_r"] if r.get("splink") else None),
    ("splink B3 F1", lambda r: r["splink"]["b3_f1"] if r.get("splink") else None),
    ("grid acc", lambda r: r["grid"]["grid_accuracy"]),
    ("grid cov", lambda r: r["others"].get("grid_xref.coverage")),
    ("demand F1", lambda r: r["others"].get("demand.pair_f1")),
    (
        "reconcile pt",
        lambda r: (
            max((d["max_points"] for d in r["reconcile"] if d["max_points"] is not None), default=None)
            if r.get("reconcile")
            else None
        ),
    ),
]


# columns whose worst value over the variants is the largest (the others: the smallest)
WORST_IS_MAX = {"reconcile pt"}


def worst(vals: list[tuple[float, str]], column: str) -> tuple[float, str]:
    return max(vals) if column in WORST_IS_MAX else min(vals)


def print_summary(results: list[dict]) -> None:
    ok = [r for r in results if "error" not in r]
    print("\n== summary (resident scores on records with a person attribute)")
    head = f"{'variant':<11}{'tuning':>7}" + "".join(f"{c:>13}" for c, _ in SUMMARY_COLUMNS)
    print(head + f"{'identity s':>11}{'splink s':>9}")
    for r in results:
        if "error" in r:
            print(
                f"{r['variant']:<11}{'yes' if r['tuning_seed'] else 'no':>7}   FAILED at {r['error']['stage']}"
            )
            continue
        cells = "".join(f"{fmt(fn(r), 13)}" for _, fn in SUMMARY_COLUMNS)
        t = r["times"]
        print(
            f"{r['variant']:<11}{'yes' if r['tuning_seed'] else 'no':>7}{cells}"
            f"{t['identity_stage']:11.1f}{t.get('splink', float('nan')):9.1f}"
        )
    if ok:
        mins = []
        for c, fn in SUMMARY_COLUMNS:
            vals = [(fn(r), r["variant"]) for r in ok if fn(r) is not None]
            mins.append(worst(vals, c) if vals else (None, ""))
        print(f"{'worst':<18}" + "".join(f"{fmt(v, 13)}" for v, _ in mins))
        print(f"{'(variant)':<18}" + "".join(f"{w:>13}" for _, w in mins))
        tables = sorted({t for r in ok for t in r["grid"]["grid_per_table"]})
        print("\n== grid accuracy / coverage per source table: minimum over the variants (variant)")
        for tbl in tables:
            acc = [
                (r["grid"]["grid_per_table"][tbl], r["variant"])
                for r in ok
                if tbl in r["grid"]["grid_per_table"]
            ]
            cov = [
                (r["grid"]["grid_coverage_per_table"][tbl], r["variant"])
                for r in ok
                if tbl in r["grid"]["grid_coverage_per_table"]
            ]
            (amin, aw), (cmin, cw) = min(acc), min(cov)
            print(f"   {tbl:<22}{fmt(amin)} ({aw}) {fmt(cmin)} ({cw})")
    not_tuning = [r["variant"] for r in results if not r["tuning_seed"]]
    print(
        f"\nnot the tuning seed ({TUNING_SEED}): {', '.join(not_tuning) or 'none'}; every other variant is seed "
        f"{TUNING_SEED} with one knob changed"
    )
    failed = [r["variant"] for r in results if "error" in r]
    if failed:
        print(f"FAILED: {', '.join(failed)}")


def markdown(results: list[dict]) -> str:
    """The summary as a Markdown table (for bench/README.md)."""
    ok = [r for r in results if "error" not in r]
    cols = [c for c, _ in SUMMARY_COLUMNS]
    lines = [
        "| variant | tuning seed | " + " | ".join(cols) + " | identity stage s | Splink s |",
        "|---|---|" + "---|" * (len(cols) + 2),
    ]
    for r in results:
        if "error" in r:
            lines.append(
                f"| {r['variant']} | {'yes' if r['tuning_seed'] else 'no'} | failed at {r['error']['stage']} |"
            )
            continue
        cells = " | ".join(fmt(fn(r), 0).strip() for _, fn in SUMMARY_COLUMNS)
        t = r["times"]
        lines.append(
            f"| {r['variant']} | {'yes' if r['tuning_seed'] else 'no'} | {cells} | "
            f"{t['identity_stage']:.0f} | {t.get('splink', float('nan')):.1f} |"
        )
    if ok:
        mins = []
        for c, fn in SUMMARY_COLUMNS:
            vals = [(fn(r), r["variant"]) for r in ok if fn(r) is not None]
            mins.append(f"{worst(vals, c)[0]:.4f} ({worst(vals, c)[1]})" if vals else "-")
        lines.append("| **worst** (min; max for reconc) | | " + " | ".join(mins) + " | | |")
        lines += [
            "",
            "Grid accuracy / coverage per source table:",
            "",
            "| table | " + " | ".join(r["variant"] for r in ok) + " | minimum |",
            "|---|" + "---|" * (len(ok) + 1),
        ]
        for tbl in sorted({t for r in ok for t in r["grid"]["grid_per_table"]}):
            acc = [r["grid"]["grid_per_table"].get(tbl) for r in ok]
            cov = [r["grid"]["grid_coverage_per_table"].get(tbl) for r in ok]
            cells = " | ".join(f"{fmt(x, 0).strip()} / {fmt(c, 0).strip()}" for x, c in zip(acc, cov))
            lo = min((x, c) for x, c in zip(acc, cov) if x is not None)
            lines.append(f"| {tbl} | {cells} | {lo[0]:.4f} / {min(c for c in cov if c is not None):.4f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="small", choices=["small", "medium", "city"])
    ap.add_argument(
        "--variants", default=",".join(VARIANTS), help=f"comma-separated subset of: {', '.join(VARIANTS)}"
    )
    ap.add_argument(
        "--home",
        type=Path,
        default=Path("/tmp/yiwang-bench-generalise"),
        help="base directory: one YIWANG_HOME per variant under it, and <variant>.json results",
    )
    ap.add_argument(
        "--splink",
        choices=["tuned", "default", "none"],
        default="tuned",
        help="the well-configured Splink (bench/identity/splink_tuned.py), the out-of-the-box one, or none",
    )
    ap.add_argument(
        "--build",
        choices=["all", "identity"],
        default="all",
        help="the whole pipeline (`yiwang build`) or only what the identity figures need",
    )
    ap.add_argument(
        "--keep",
        action="store_true",
        help="keep each variant's YIWANG_HOME (a later run reuses a kept, built home)",
    )
    ap.add_argument("--fresh", action="store_true", help="recompute variants that already have results")
    ap.add_argument("--markdown", action="store_true", help="also print the summary as a Markdown table")
    a = ap.parse_args(argv)
    names = [n.strip() for n in a.variants.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        ap.error(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    a.home.mkdir(parents=True, exist_ok=True)
    results = []
    t0 = time.perf_counter()
    for i, name in enumerate(names, 1):
        out = a.home / f"{name}.json"
        if out.exists() and not a.fresh:
            prev = json.loads(out.read_text(encoding="utf-8"))
            same = (prev.get("scale"), prev.get("build"), prev.get("splink_mode"), prev.get("config")) == (
                a.scale,
                a.build,
                a.splink,
                asdict(VARIANTS[name]),
            )
            if same and "error" not in prev:
                log(name, f"reusing {out} ({i}/{len(names)})")
                results.append(prev)
                continue
        log(name, f"start ({i}/{len(names)}): {VARIANTS[name].label}")
        t = time.perf_counter()
        r = run_variant(name, VARIANTS[name], a)
        r["wall_seconds"] = time.perf_counter() - t
        out.write_text(json.dumps(r, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        log(name, "done", t)
        results.append(r)
        print_variant(r)
    print(
        f"\ngeneralisation benchmark: scale {a.scale}, build {a.build}, splink {a.splink}, "
        f"{len(results)} variants, {time.perf_counter() - t0:.0f} s this run"
    )
    for r in results:
        print_variant(r)
    print_summary(results)
    if a.markdown:
        print("\n" + markdown(results))
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
