"""Identity benchmark: resident matching (and grids / estates / orgs / demands when built) against the
simulator's ground truth, side by side with an out-of-the-box Splink 5 on the same normalised records.

    .venv/bin/python bench/identity/run.py [--scale medium] [--home /tmp/yiwang-bench-identity] [--reuse]
    .venv/bin/python bench/identity/run.py --scale city --build identity --no-increment   # city-scale timing

In one run, in a fresh YIWANG_HOME (deleted first unless --reuse):
1. simulate -> extract -> build (`yiwang` subprocesses; the build runs every dbt model incl. identity;
   with --build identity only the seeds, the staging models the identity stage reads, and the stage);
2. the identity stage again, alone (`dbt run` of every model under models/intermediate/identity and
   models/identity: residents, grids, estates, orgs, demands),
   timed with peak RSS; the keys of this rebuild against the first build's keys = key stability with
   nothing changed;
3. scores: resident pairwise and B-cubed P/R/F1 of identity.resident_xref vs truth person_id; grid_code
   accuracy of identity.grid_xref, estate / org assignment accuracy and pairwise F1 of demand_key vs
   incident_id when those tables exist;
4. Splink 5 (DuckDB backend, EM-trained, standard blocking + comparisons) on the same
   identity_work.int_residents_records_prepared rows, clustered at match probability 0.95, same scores;
5. simulator.simulate_increment(fraction=0.01) -> extract -> identity stage: keys of records whose
   resident is untouched by the increment (no new or changed record) must not change.
Prints a table of figures and ratios and writes results.json into the home.
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

import duckdb
import pandas as pd
import psutil

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.identity.scoring import bcubed, label_accuracy, majority_accuracy, pairwise  # noqa: E402
from bench.measure import run_measured  # noqa: E402

BIN = Path(sys.executable).parent
YIWANG = str(BIN / "yiwang")
DBT = str(BIN / "dbt")
KEY = ["source_system", "source_table", "source_key"]
RESIDENT_MODELS = (
    "int_residents_records_unioned int_residents_records_prepared int_residents_records_matched "
    "resident_key_registry resident_xref dim_resident resident_match_evidence resident_key_history"
)
# The whole identity stage: residents, places (grids / estates), organisations and demands.
IDENTITY_SELECTOR = [
    "path:models/intermediate/identity",
    "path:models/identity",
]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def extract(env: dict[str, str]) -> tuple[float, int]:
    """`yiwang extract` with the simulated HTTP APIs served on a free port for the duration."""
    import socket

    port = free_port()
    env = dict(
        env,
        YIWANG_APPROVAL_URL=f"http://127.0.0.1:{port}/approval",
        YIWANG_SERVICES_URL=f"http://127.0.0.1:{port}/services",
    )
    server = subprocess.Popen(
        [YIWANG, "serve-sources", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        return run_measured([YIWANG, "extract"], env)
    finally:
        server.terminate()
        server.wait(timeout=30)


def bench_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        YIWANG_HOME=str(home),
        YIWANG_DUCKDB_PATH=str(home / "warehouse.duckdb"),
        DBT_TARGET_PATH=str(home / "dbt_target"),
        DBT_LOG_PATH=str(home / "dbt_logs"),
    )
    env.pop("YIWANG_WAREHOUSE_URL", None)
    env.setdefault("YIWANG_HMAC_KEY", "bench-identity-key")
    for var in ("YIWANG_APPROVAL_TOKEN", "YIWANG_SERVICES_API_KEY"):
        env.setdefault(var, "bench-" + var.lower())
    return env


def dbt_run(env: dict[str, str], *select: str) -> tuple[float, int]:
    return run_measured(
        [
            DBT,
            "run",
            "--project-dir",
            str(REPO / "dbt_project"),
            "--profiles-dir",
            str(REPO / "dbt_project"),
            "--target",
            "duckdb",
            "--select",
            *select,
        ],
        env,
    )


def build_for_identity(env: dict[str, str]) -> dict[str, tuple[float, int]]:
    """Only what the identity stage reads (seeds, the staging models upstream of it), then the whole stage."""
    seed_s, seed_m = run_measured(
        [
            DBT,
            "seed",
            "--project-dir",
            str(REPO / "dbt_project"),
            "--profiles-dir",
            str(REPO / "dbt_project"),
            "--target",
            "duckdb",
        ],
        env,
    )
    up_s, up_m = dbt_run(env, *[f"+{s}" for s in IDENTITY_SELECTOR], "--exclude", *IDENTITY_SELECTOR)
    return {
        "build (seeds + staging the identity stage reads)": (seed_s + up_s, max(seed_m, up_m)),
        "identity stage, all identity models (first build)": identity_stage(env, whole=True),
    }


def identity_stage(env: dict[str, str], whole: bool = False) -> tuple[float, int]:
    """The resident models alone, or (whole=True) every identity model: residents, places, orgs, demands."""
    return dbt_run(env, *(IDENTITY_SELECTOR if whole else RESIDENT_MODELS.split()))


def read(db: Path, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql(sql).df()
    finally:
        con.close()


def table_exists(db: Path, schema: str, name: str) -> bool:
    return bool(
        len(
            read(
                db,
                f"select 1 from information_schema.tables where table_schema = '{schema}' "
                f"and table_name = '{name}'",
            )
        )
    )


# Party service records (dj_fwjl) name no one: they carry only the member id (dy_id) and follow their member
# deterministically. The side-by-side with Splink scores the records that carry a person attribute (name, ID,
# phone, birth date, address); yiwang is also scored on every person-bearing record.
NO_ATTRIBUTE_TABLES = {("party", "dj_fwjl")}


def resident_scores(
    pred: pd.DataFrame, truth: pd.DataFrame, label: str, with_attributes_only: bool = True
) -> dict:
    d = truth[KEY + ["person_id"]].dropna(subset=["person_id"]).merge(pred, on=KEY, how="inner")
    if with_attributes_only:
        d = d[[(a, b) not in NO_ATTRIBUTE_TABLES for a, b in zip(d["source_system"], d["source_table"])]]
    d = d.rename(columns={label: "pred", "person_id": "true"})
    pw, bc = pairwise(d), bcubed(d)
    return {
        "records_scored": len(d),
        "pair_p": pw.precision,
        "pair_r": pw.recall,
        "pair_f1": pw.f1,
        "b3_p": bc.precision,
        "b3_r": bc.recall,
        "b3_f1": bc.f1,
    }


def splink_baseline(db: Path) -> tuple[pd.DataFrame, float, int]:
    """Out-of-the-box Splink 5 on the prepared (normalised, pseudonymised) records."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    df = read(
        db,
        """
        select record_ref, source_system, source_table, source_key, name_key, gender,
               strftime(birth_date, '%Y-%m-%d') as birth_date, id_hmac, phone_hmac, id_partial_hmac,
               estate_key, case when room is not null then estate_key || '|' || building || '|' || unit || '|' || room end as flat,
               member_id
        from identity_work.int_residents_records_prepared""",
    )
    proc = psutil.Process()
    t0 = time.perf_counter()
    rss0 = proc.memory_info().rss
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="record_ref",
        blocking_rules_to_generate_predictions=[
            block_on("id_hmac"),
            block_on("name_key", "phone_hmac"),
            block_on("name_key", "birth_date"),
            block_on("name_key", "flat"),
            block_on("name_key", "id_partial_hmac"),
            block_on("member_id"),
        ],
        comparisons=[
            cl.ExactMatch("id_hmac"),
            cl.ExactMatch("member_id"),  # party member id (dy_id): members, registrations, service records
            cl.JaroWinklerAtThresholds("name_key", [0.9, 0.8]),
            cl.ExactMatch("phone_hmac"),
            cl.DateOfBirthComparison("birth_date", input_is_string=True),
            cl.ExactMatch("flat"),
            cl.ExactMatch("id_partial_hmac"),
            cl.ExactMatch("gender"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    api = DuckDBAPI()
    tbl = api.register(df.drop(columns=["source_system", "source_table", "source_key"]), table_name="records")
    linker = Linker(tbl, settings)
    linker.training.estimate_probability_two_random_records_match([block_on("id_hmac")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name_key"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("birth_date"))
    pred = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, 0.95).as_pandas_dataframe()
    seconds = time.perf_counter() - t0
    peak = max(proc.memory_info().rss - rss0, 0)
    out = df[["record_ref"] + KEY].merge(clusters[["record_ref", "cluster_id"]], on="record_ref", how="left")
    out["cluster_id"] = out["cluster_id"].fillna(out["record_ref"])
    return out[KEY + ["cluster_id"]], seconds, peak


def other_entity_scores(db: Path, truth: pd.DataFrame) -> dict:
    res: dict[str, float] = {}
    specs = [
        ("grid_xref", "grid_code", "grid_code", label_accuracy),
        ("estate_xref", "estate_key", "estate_id", majority_accuracy),
        ("org_xref", "org_key", "org_id", majority_accuracy),
    ]
    for table, col, true_col, fn in specs:
        if table_exists(db, "identity", table):
            x = read(
                db, f"select source_system, source_table, source_key, {col} as pred from identity.{table}"
            )
            x = x.drop_duplicates(KEY)
            d = truth[KEY + [true_col]].dropna(subset=[true_col]).rename(columns={true_col: "true"})
            d = d.merge(x, on=KEY, how="left")
            res[f"{table}.coverage"] = float(d["pred"].notna().mean()) if len(d) else float("nan")
            res[f"{table}.accuracy"] = fn(d)
    if table_exists(db, "identity", "demand_xref"):
        x = read(
            db, "select source_system, source_table, source_key, demand_key as pred from identity.demand_xref"
        )
        d = (
            truth[KEY + ["incident_id"]]
            .dropna(subset=["incident_id"])
            .rename(columns={"incident_id": "true"})
        )
        pw = pairwise(d.merge(x.drop_duplicates(KEY), on=KEY, how="inner"))
        res.update({"demand.pair_p": pw.precision, "demand.pair_r": pw.recall, "demand.pair_f1": pw.f1})
    return res


def key_stability(
    before: pd.DataFrame, after: pd.DataFrame, keep: pd.DataFrame | None = None
) -> tuple[float, int]:
    d = before.merge(after, on=KEY, suffixes=("_0", "_1"))
    if keep is not None:
        d = d.merge(keep, on=KEY)
    return (float((d["resident_key_0"] == d["resident_key_1"]).mean()) if len(d) else float("nan")), len(d)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", default="medium")
    ap.add_argument("--home", type=Path, default=Path("/tmp/yiwang-bench-identity"))
    ap.add_argument(
        "--reuse", action="store_true", help="keep an existing home (skip simulate/extract/build)"
    )
    ap.add_argument("--no-splink", action="store_true")
    ap.add_argument(
        "--splink",
        choices=["default", "tuned"],
        default="default",
        help="out-of-the-box Splink (default, as in the published figures) or the well-configured one "
        "of bench/identity/splink_tuned.py",
    )
    ap.add_argument("--no-increment", action="store_true")
    ap.add_argument(
        "--build",
        choices=["all", "identity"],
        default="all",
        help="first build: the whole pipeline (`yiwang build`, default) or only the identity models "
        "and what they read (for `city`, where the whole build is not what is measured)",
    )
    a = ap.parse_args(argv)
    home = a.home
    env = bench_env(home)
    db = home / "warehouse.duckdb"
    times: dict[str, tuple[float, int]] = {}
    if not a.reuse or not db.exists():
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        times["simulate"] = run_measured([YIWANG, "simulate", "--scale", a.scale], env)
        times["extract"] = extract(env)
        if a.build == "all":
            times["build (all dbt + gates)"] = run_measured([YIWANG, "build"], env)
        else:  # only what the identity stage reads (staging, reference seeds), then the identity stage
            times.update(build_for_identity(env))
    truth = pd.read_parquet(home / "sources" / "truth" / "records.parquet")
    keys_0 = read(db, "select * from identity.resident_xref")

    times["identity stage (rebuild)"] = identity_stage(env, whole=True)
    times["resident models alone (rebuild)"] = identity_stage(env)
    keys_1 = read(db, "select * from identity.resident_xref")
    stab_rebuild, n_rebuild = key_stability(keys_0, keys_1)
    n_records = len(keys_1)

    ours = resident_scores(keys_1, truth, "resident_key")
    ours_all = resident_scores(keys_1, truth, "resident_key", with_attributes_only=False)
    others = other_entity_scores(db, truth)
    splink = None
    if not a.no_splink:
        if a.splink == "tuned":
            from bench.identity import splink_tuned

            sp, sp_s, sp_mem = splink_tuned.run(lambda sql: read(db, sql))
        else:
            sp, sp_s, sp_mem = splink_baseline(db)
        splink = resident_scores(sp, truth, "cluster_id")
        times["splink 5 (train+predict+cluster)"] = (sp_s, sp_mem)

    inc = {}
    if not a.no_increment:
        import simulator

        simulator.simulate_increment(home / "sources", fraction=0.01)
        extract(env)
        prepared_before = read(
            db,
            "select record_ref, source_system, source_table, source_key, name_key, "
            "id_hmac, phone_hmac, phone2_hmac, birth_date, estate_key, building, unit, room "
            "from identity_work.int_residents_records_prepared",
        )
        times["identity stage (after 1% increment)"] = identity_stage(env, whole=True)
        keys_2 = read(db, "select * from identity.resident_xref")
        prepared_after = read(
            db,
            "select record_ref, source_system, source_table, source_key, name_key, "
            "id_hmac, phone_hmac, phone2_hmac, birth_date, estate_key, building, unit, room "
            "from identity_work.int_residents_records_prepared",
        )
        truth2 = pd.read_parquet(home / "sources" / "truth" / "records.parquet")
        cols = [c for c in prepared_before.columns if c not in KEY + ["record_ref"]]
        m = prepared_after.merge(
            prepared_before, on=KEY + ["record_ref"], how="left", suffixes=("", "_b"), indicator=True
        )
        changed = m["_merge"] == "left_only"
        for c in cols:
            changed |= ~((m[c] == m[c + "_b"]) | (m[c].isna() & m[c + "_b"].isna()))
        touched = m.loc[changed, KEY].merge(truth2[KEY + ["person_id"]], on=KEY, how="left")
        touched_persons = set(touched["person_id"].dropna())
        t = truth2[KEY + ["person_id"]]
        untouched = t[t["person_id"].notna() & ~t["person_id"].isin(touched_persons)][KEY]
        stab_inc, n_inc = key_stability(keys_1, keys_2, untouched)
        stab_all, _ = key_stability(keys_1, keys_2)
        inc = {
            "new_or_changed_records": int(changed.sum()),
            "touched_persons": len(touched_persons),
            "stable_untouched": stab_inc,
            "records_untouched": n_inc,
            "stable_all_previous": stab_all,
            "after": resident_scores(keys_2, truth2, "resident_key"),
        }

    results = {
        "scale": a.scale,
        "records": n_records,
        "ours": ours,
        "ours_all_records": ours_all,
        "splink": splink,
        "others": others,
        "stability_rebuild": stab_rebuild,
        "stability_rebuild_records": n_rebuild,
        "increment": inc,
        "times": {k: {"seconds": s, "peak_rss_mb": m / 2**20} for k, (s, m) in times.items()},
    }
    (home / "identity_bench.json").write_text(
        json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    print_table(results)
    return 0


def print_table(r: dict) -> None:
    print(f"\nidentity benchmark — scale {r['scale']}, {r['records']:,} person records\n")
    o, s = r["ours"], r["splink"]
    print(f"{'resident matching':<26}{'yiwang':>10}{'splink 5':>10}{'ratio':>8}")
    for k, lbl in [
        ("pair_p", "pairwise precision"),
        ("pair_r", "pairwise recall"),
        ("pair_f1", "pairwise F1"),
        ("b3_p", "B-cubed precision"),
        ("b3_r", "B-cubed recall"),
        ("b3_f1", "B-cubed F1"),
    ]:
        sv = f"{s[k]:10.4f}" if s else f"{'-':>10}"
        ratio = f"{o[k] / s[k]:8.3f}" if s and s[k] else f"{'-':>8}"
        print(f"{lbl:<26}{o[k]:10.4f}{sv}{ratio}")
    print(
        f"{'records scored':<26}{o['records_scored']:10,}  (records with a person attribute; party service "
        f"records, which carry only dy_id, left out)"
    )
    if r.get("ours_all_records"):
        oa = r["ours_all_records"]
        print(
            f"yiwang on all {oa['records_scored']:,} person-bearing records: B-cubed P/R/F1 "
            f"{oa['b3_p']:.4f} / {oa['b3_r']:.4f} / {oa['b3_f1']:.4f}, pairwise F1 {oa['pair_f1']:.4f}"
        )
    if r["others"]:
        print("\nother entities")
        for k, v in r["others"].items():
            print(f"  {k:<30}{v:10.4f}")
    print("\ntimes")
    for k, v in r["times"].items():
        print(f"  {k:<40}{v['seconds']:9.1f} s {v['peak_rss_mb']:9.0f} MB peak RSS")
    t = r["times"]
    if "resident models alone (rebuild)" in t and "splink 5 (train+predict+cluster)" in t:
        print(
            f"  splink / yiwang resident-matching time ratio: "
            f"{t['splink 5 (train+predict+cluster)']['seconds'] / t['resident models alone (rebuild)']['seconds']:.2f}"
            " (yiwang's includes normalising, pseudonymising and the key registry / evidence / history tables)"
        )
    print(
        f"\nkey stability, rebuild with nothing changed: {r['stability_rebuild']:.4%} "
        f"of {r['stability_rebuild_records']:,} records"
    )
    if r["increment"]:
        i = r["increment"]
        print(
            f"key stability after a 1% increment: {i['stable_untouched']:.4%} of {i['records_untouched']:,} "
            f"records of untouched residents ({i['touched_persons']:,} residents touched by "
            f"{i['new_or_changed_records']:,} new/changed records; all previous records: "
            f"{i['stable_all_previous']:.4%}); B-cubed F1 after: {i['after']['b3_f1']:.4f}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
