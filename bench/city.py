"""The whole hub at one scale, stage by stage, with peak memory, against plain DuckDB (the floor).

    .venv/bin/python bench/city.py --scale city --home /work/bench-city/home --runs 1
    .venv/bin/python bench/city.py --scale small --runs 3              # a minute; the same table
    .venv/bin/python bench/city.py --scale city --home H --reuse-raw   # rebuild only: keep H's landed raw
    .venv/bin/python bench/city.py --scale city --home H --reuse-raw --no-raw-gate   # dbt, mart gate, publish

Every stage runs as its own subprocess, so its wall time and peak RSS (process tree, bench/measure.py) are its
own: simulate (once per home: an existing ``sources/manifest.json`` of the same scale is reused), extract+load
per system into a fresh warehouse (rows/s from ops.load_ledger), raw gate, the dbt build as the build DAG's
layer mode runs it (``dags.build.DBT_LAYERS``: staging, identity, marts — one ``dbt build`` each, in the build
schemas), mart gate, publish. Per model, seconds come from each layer's run_results.json.

The floor, in the same command: a copy of the warehouse as the dbt build found it (raw landed and gated),
then every model and test of the same build, in the order dbt ran them, as dbt compiled them (the
run_results.json ``compiled_code``), executed in ONE DuckDB connection with the same memory_limit,
temp_directory and pseudonym UDF: ``create or replace view|table ... as <sql>`` (incremental models: the
same delete+insert / append dbt does), tests as ``select count(*) from (<sql>)``. That is what this engine
needs for these transforms with no dbt, no gates, no Python between statements. Extract has its own floor:
a bare pandas copy of the SQL sources (bench/pipeline.py). Hub/floor is printed per stage.

``--runs N`` (default 3) repeats extract..publish (and the floor) N times on the same simulated sources and
prints min/median/max. Nothing here asserts a figure; the machine is shared, so say so when quoting them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.measure import run_measured  # noqa: E402

BIN = Path(sys.executable).parent
YIWANG = str(BIN / "yiwang")
SYSTEMS = ("party", "grid", "approval", "property", "services", "hotline")
SQL_SYSTEMS = ("party", "grid")


# -- stages run in their own process: `python bench/city.py --stage NAME` ------------------------------------
def stage_main(name: str, arg: str | None) -> None:
    """One stage of the build, in this process (called as a subprocess by the bench)."""
    from yiwang.settings import get_settings

    settings = get_settings()
    if name == "raw_gate":
        from expectations.run import run_raw_gate

        run_raw_gate(settings, full=True)  # every row, also over a reused raw the gate already validated
    elif name == "dbt":  # arg: JSON [select, exclude] or [select, exclude, command, vars]
        from yiwang.dbt_runner import run_dbt
        from yiwang.publish import build_schemas

        select, exclude, *rest = json.loads(arg or "[null, null]")
        command = rest[0] if rest else "build"
        dbt_vars = rest[1] if len(rest) > 1 else None
        args = [command, "--select", *select.split()]
        if args[0] == "build":
            args += ["--exclude-resource-type", "unit_test"]  # as the pipeline builds (dbt_runner.BUILD_ARGS)
        if exclude:
            args += ["--exclude", *exclude.split()]
        with build_schemas():
            run_dbt(args, settings=settings, dbt_vars=dbt_vars)
    elif name == "mart_gate":
        from expectations.run import run_mart_gate
        from yiwang.warehouse import BUILD_SUFFIX

        result = run_mart_gate(settings, schema_suffix=BUILD_SUFFIX)
        Path(arg or "mart_gate.json").write_text(json.dumps(result.to_dict(), default=str))
    elif name == "publish":
        from yiwang.publish import publish

        gate = json.loads(Path(arg).read_text()) if arg and Path(arg).exists() else None
        publish("bench-city", gate, settings)
    elif name == "floor":
        floor_child(arg or "floor_spec.json")
    else:
        raise SystemExit(f"unknown stage {name!r}")


def run_stage(env: dict[str, str], name: str, arg: str | None = None) -> tuple[float, int]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--stage", name]
    return run_measured(cmd + ([arg] if arg is not None else []), env)


# -- helpers ---------------------------------------------------------------------------------------------------
def bench_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        YIWANG_HOME=str(home),
        DBT_TARGET_PATH=str(home / "dbt_target"),
        DBT_LOG_PATH=str(home / "dbt_logs"),
    )
    for var in ("YIWANG_WAREHOUSE_URL", "YIWANG_DUCKDB_PATH"):
        env.pop(var, None)
    env.setdefault("YIWANG_HMAC_KEY", "bench-city-key")
    for var in ("YIWANG_APPROVAL_TOKEN", "YIWANG_SERVICES_API_KEY"):
        env.setdefault(var, "bench-" + var.lower())
    return env


LAYERS: list[tuple[str, str, str | None]] = []


def dbt_layers() -> list[tuple[str, str, str | None]]:
    """The build DAG's layers (one `dbt build` each), as the DAG defines them."""
    code = "import json; from build import DBT_LAYERS; print(json.dumps(DBT_LAYERS))"
    env = dict(os.environ, PYTHONPATH=str(REPO / "dags"))  # Airflow puts dags/ on the path
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True
    ).stdout
    LAYERS[:] = [tuple(x) for x in json.loads(out.strip().splitlines()[-1])]
    return LAYERS


def ledger_rows(warehouse: Path) -> dict[str, int]:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return dict(
            con.execute("select system, sum(rows_read) from ops.load_ledger group by system").fetchall()
        )
    finally:
        con.close()


def simulate(scale: str, home: Path, env: dict[str, str]) -> dict[str, Any] | None:
    manifest = home / "sources" / "manifest.json"
    if manifest.exists() and json.loads(manifest.read_text()).get("scale") == scale:
        return None
    shutil.rmtree(home / "sources", ignore_errors=True)
    secs, peak = run_measured([YIWANG, "simulate", "--scale", scale], env)
    return {"stage": "simulate", "rows": None, "seconds": secs, "peak": peak}


def extract(home: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    """A fresh warehouse, then `yiwang extract <system>` per system with the HTTP sources served locally."""
    from simulator import http_api

    for p in (home / "warehouse.duckdb", home / "warehouse.duckdb.wal"):
        p.unlink(missing_ok=True)
    for d in ("snapshots", "tmp", "gx"):
        shutil.rmtree(home / d, ignore_errors=True)
    server = http_api.serve_in_thread(
        home / "sources",
        port=0,
        approval_token=env["YIWANG_APPROVAL_TOKEN"],
        services_api_key=env["YIWANG_SERVICES_API_KEY"],
    )
    env = dict(
        env, YIWANG_APPROVAL_URL=f"{server.url}/approval", YIWANG_SERVICES_URL=f"{server.url}/services"
    )
    rows: list[dict[str, Any]] = []
    try:
        secs, peak = run_measured([YIWANG, "extract", "reference"], env)
        rows.append({"stage": "extract+load reference", "rows": None, "seconds": secs, "peak": peak})
        for system in SYSTEMS:
            secs, peak = run_measured([YIWANG, "extract", system], env)
            rows.append({"stage": f"extract+load {system}", "rows": 0, "seconds": secs, "peak": peak})
    finally:
        server.stop()
    counts = ledger_rows(home / "warehouse.duckdb")
    for r in rows:
        system = r["stage"].split()[-1]
        if system in counts:
            r["rows"] = int(counts[system])
    return rows


def extract_floor(home: Path, rows: list[dict[str, Any]]) -> None:
    """Bare pandas copy of the SQL sources (bench/pipeline.py): the floor of each SQL system's extract."""
    from bench.pipeline import baseline_copy

    target = home / "floor_extract.duckdb"
    for system in SQL_SYSTEMS:
        target.unlink(missing_ok=True)
        _, secs = baseline_copy(home / "sources" / f"{system}.sqlite", target)
        for r in rows:
            if r["stage"] == f"extract+load {system}":
                r["floor"] = secs
    target.unlink(missing_ok=True)


def per_model(run_results: Path) -> list[dict[str, Any]]:
    doc = json.loads(run_results.read_text())
    return [
        {
            "unique_id": r["unique_id"],
            "status": r["status"],
            "seconds": r.get("execution_time") or 0.0,
            "compiled_code": r.get("compiled_code"),
            "relation_name": r.get("relation_name"),
        }
        for r in doc["results"]
    ]


# -- the floor: dbt's compiled SQL in one DuckDB connection ------------------------------------------------------
def floor_build(home: Path, env: dict[str, str], layers: dict[str, list[dict[str, Any]]]) -> dict[str, float]:
    """Seconds per layer for the same models and tests as plain SQL in one connection (see the module doc)."""
    spec = home / "floor_spec.json"
    manifest = json.loads((home / "dbt_target" / "manifest.json").read_text())
    nodes = manifest["nodes"]
    plan = []
    for layer, results in layers.items():
        for r in results:
            node = nodes.get(r["unique_id"], {})
            kind = node.get("resource_type")
            if kind == "seed":  # loading, not a transform: copied from the hub's warehouse, untimed
                plan.append(
                    {
                        "layer": layer,
                        "kind": kind,
                        "relation": node["relation_name"],
                        "schema": node["schema"],
                    }
                )
                continue
            if kind not in ("model", "test") or not r["compiled_code"] or r["status"] == "skipped":
                continue
            cfg = node.get("config", {})
            plan.append(
                {
                    "layer": layer,
                    "kind": kind,
                    "materialized": cfg.get("materialized"),
                    "strategy": cfg.get("incremental_strategy"),
                    "unique_key": cfg.get("unique_key"),
                    "relation": r["relation_name"] or node.get("relation_name"),
                    "schema": node.get("schema"),
                    "sql": r["compiled_code"],
                }
            )
    spec.write_text(
        json.dumps(
            {
                "db": str(home / "floor" / "warehouse.duckdb"),
                "hub": str(home / "warehouse.duckdb"),
                "plan": plan,
            }
        )
    )
    secs, peak = run_stage(env, "floor", str(spec))
    out = json.loads((home / "floor" / "result.json").read_text())
    out["_total"], out["_peak"] = secs, peak
    return out


def floor_child(spec_path: str) -> dict[str, float]:
    import duckdb

    from yiwang.dbt_duckdb_udf import FUNCTION_NAME, _token
    from yiwang.warehouse import apply_duckdb_limits

    spec = json.loads(Path(spec_path).read_text())
    con = duckdb.connect(spec["db"])
    apply_duckdb_limits(con)
    try:
        from duckdb.sqltypes import VARCHAR
    except ImportError:  # duckdb < 1.4
        from duckdb.typing import VARCHAR  # type: ignore[no-redef]
    con.create_function(FUNCTION_NAME, _token, [VARCHAR], VARCHAR)
    seconds: dict[str, float] = {}
    for step in [s for s in spec["plan"] if s["kind"] == "seed"]:
        con.execute(f"attach if not exists '{spec['hub']}' as hub (read_only)")
        con.execute(f'create schema if not exists "{step["schema"]}"')
        con.execute(
            f"create or replace table {step['relation']} as select * from hub.{step['relation'].split('.', 1)[1]}"
        )
    con.execute("detach database if exists hub")
    for step in [s for s in spec["plan"] if s["kind"] != "seed"]:
        t0 = time.perf_counter()
        sql, rel = step["sql"], step["relation"]
        if step["kind"] == "test":
            con.execute(f"select count(*) from ({sql}) as t").fetchone()
        else:
            con.execute(f'create schema if not exists "{step["schema"]}"')
            exists = con.execute(
                "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                [step["schema"], rel.rsplit(".", 1)[-1].strip('"')],
            ).fetchone()[0]
            if step["materialized"] == "view":
                con.execute(f"create or replace view {rel} as {sql}")
            elif step["materialized"] == "incremental" and exists:
                con.execute(f"create or replace temp table floor_delta as {sql}")
                if step["strategy"] == "delete+insert" and step["unique_key"]:
                    key = step["unique_key"]
                    con.execute(f"delete from {rel} where {key} in (select {key} from floor_delta)")
                con.execute(f"insert into {rel} by name select * from floor_delta")
                con.execute("drop table floor_delta")
            else:
                con.execute(f"create or replace table {rel} as {sql}")
        seconds[step["layer"]] = seconds.get(step["layer"], 0.0) + time.perf_counter() - t0
    con.close()
    (Path(spec["db"]).parent / "result.json").write_text(json.dumps(seconds))
    return seconds


# -- one run ---------------------------------------------------------------------------------------------------
class Stages(list):
    """The stage rows of one run, each printed as it is added (a long run shows its figures as it goes)."""

    def append(self, row: dict[str, Any]) -> None:
        super().append(row)
        print(f"   {row['stage']}: {row['seconds']:.1f} s, peak {row['peak'] / 2**20:.0f} MB", flush=True)

    def __iadd__(self, rows: Any) -> Stages:
        for row in rows:
            self.append(row)
        return self


def one_run(
    home: Path,
    env: dict[str, str],
    reuse_raw: bool,
    floor: bool,
    i: int,
    raw_gate: bool = True,
    only: tuple[str, ...] = (),
) -> dict[str, Any]:
    rows: list[dict[str, Any]] = Stages()
    wh = home / "warehouse.duckdb"
    fresh_raw = not reuse_raw or not wh.exists()
    if fresh_raw:
        rows += extract(home, env)
        if floor:
            extract_floor(home, rows)
    if raw_gate:
        secs, peak = run_stage(env, "raw_gate")
        raw_total = sum(r["rows"] or 0 for r in rows) or None
        rows.append({"stage": "raw gate", "rows": raw_total, "seconds": secs, "peak": peak})
    chosen = [layer for layer in (LAYERS or dbt_layers()) if not only or layer[0] in only]
    if only and "staging" not in only:  # the seeds and staging tables the chosen layers read, untimed
        staging = next(layer for layer in LAYERS if layer[0] == "staging")
        # over a reused raw nothing was loaded since staging was last built: no lookback (staging keeps itself by
        # changed key; a model whose code changed, or that is missing, still rebuilds in full)
        lookback = None if fresh_raw else {"staging_lookback_hours": 0}
        run_stage(env, "dbt", json.dumps([staging[1], None, "run", lookback]))
    if floor:  # the warehouse as the dbt build finds it, for the floor (copied outside any timing)
        shutil.rmtree(home / "floor", ignore_errors=True)
        (home / "floor").mkdir()
        shutil.copy2(wh, home / "floor" / "warehouse.duckdb")
    results_dir = home / "results"
    results_dir.mkdir(exist_ok=True)
    layers: dict[str, list[dict[str, Any]]] = {}
    for name, select, exclude in chosen:
        secs, peak = run_stage(env, "dbt", json.dumps([select, exclude]))
        kept = results_dir / f"run{i}_{name}.json"
        shutil.copy2(home / "dbt_target" / "run_results.json", kept)
        layers[name] = per_model(kept)
        rows.append(
            {
                "stage": f"dbt build: {name}",
                "rows": sum(1 for r in layers[name] if r["unique_id"].startswith("model.")),
                "unit": "models",
                "seconds": secs,
                "peak": peak,
            }
        )
    if not only or "marts" in only:
        gate_json = home / "mart_gate.json"
        secs, peak = run_stage(env, "mart_gate", str(gate_json))
        rows.append({"stage": "mart gate", "rows": None, "seconds": secs, "peak": peak})
        secs, peak = run_stage(env, "publish", str(gate_json))
        rows.append({"stage": "publish", "rows": None, "seconds": secs, "peak": peak})
    if floor:
        got = floor_build(home, env, layers)
        for r in rows:
            if r["stage"].startswith("dbt build: "):
                r["floor"] = got.get(r["stage"].removeprefix("dbt build: "))
        rows.append(
            {
                "stage": "floor: all layers, one process",
                "rows": None,
                "seconds": got["_total"],
                "peak": got["_peak"],
            }
        )
        shutil.rmtree(home / "floor", ignore_errors=True)
    top = sorted((m for ms in layers.values() for m in ms), key=lambda m: m["seconds"], reverse=True)[:15]
    return {"stages": rows, "top_nodes": [{k: m[k] for k in ("unique_id", "seconds")} for m in top]}


def fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def report(scale: str, sim: dict[str, Any] | None, runs: list[dict[str, Any]]) -> None:
    print(
        f"\n== {scale}: {len(runs)} run(s); min/median/max over runs; peak = max RSS of the stage's process tree"
    )
    if sim:
        print(f"simulate: {sim['seconds']:.1f} s, peak {sim['peak'] / 2**20:.0f} MB")
    else:
        print("simulate: reused the home's sources (not timed in this command)")
    head = f"{'stage':34} {'rows':>10} {'s min':>8} {'s med':>8} {'s max':>8} {'rows/s':>9} {'peak MB':>8} {'floor s':>8} {'hub/floor':>9}"
    print(head)
    for j, r0 in enumerate(runs[0]["stages"]):
        same = [run["stages"][j] for run in runs if j < len(run["stages"])]
        secs = [r["seconds"] for r in same]
        med = statistics.median(secs)
        floors = [r["floor"] for r in same if r.get("floor")]
        fl = statistics.median(floors) if floors else None
        rate = r0["rows"] / med if r0.get("rows") and r0.get("unit") is None and med else None
        print(
            f"{r0['stage']:34} {fmt(r0.get('rows'), '>10')} {min(secs):>8.1f} {med:>8.1f} {max(secs):>8.1f} "
            f"{fmt(rate, '>9.0f')} {max(r['peak'] for r in same) / 2**20:>8.0f} {fmt(fl, '>8.1f')} "
            f"{fmt(med / fl if fl else None, '>9.2f')}"
        )
    print("\nslowest dbt nodes (last run):")
    for m in runs[-1]["top_nodes"]:
        print(f"  {m['seconds']:8.1f} s  {m['unique_id']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", choices=["small", "medium", "city"], default="small")
    ap.add_argument("--home", type=Path, help="default /tmp/yiwang-bench-city/<scale>")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--reuse-raw", action="store_true", help="keep the home's landed raw: no extract")
    ap.add_argument(
        "--no-raw-gate", action="store_true", help="with --reuse-raw: the landed raw was gated already"
    )
    ap.add_argument(
        "--layers",
        default="",
        help="only these dbt layers, comma-separated (e.g. identity; the seeds and staging views they read are "
        "built first, untimed); mart gate and publish only with marts",
    )
    ap.add_argument("--no-floor", action="store_true", help="skip the plain-DuckDB floor")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--stage", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stage:
        stage_main(args.stage[0], args.stage[1] if len(args.stage) > 1 else None)
        return
    home = (args.home or Path("/tmp/yiwang-bench-city") / args.scale).resolve()
    home.mkdir(parents=True, exist_ok=True)
    env = bench_env(home)
    os.environ.update({k: env[k] for k in ("YIWANG_HOME", "YIWANG_HMAC_KEY", "DBT_TARGET_PATH")})
    reuse = args.reuse_raw and (home / "warehouse.duckdb").exists()
    sim = None if reuse else simulate(args.scale, home, env)
    runs = []
    for i in range(args.runs):
        print(f"-- run {i + 1}/{args.runs}", flush=True)
        runs.append(
            one_run(
                home,
                env,
                args.reuse_raw,
                not args.no_floor,
                i,
                not args.no_raw_gate,
                tuple(x for x in args.layers.split(",") if x),
            )
        )
        if args.json:
            args.json.write_text(json.dumps({"scale": args.scale, "simulate": sim, "runs": runs}, indent=2))
    report(args.scale, sim, runs)


if __name__ == "__main__":
    main()
