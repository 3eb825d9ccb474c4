"""The main job on the embedded default: simulate → extract (Airflow DAGs) → dbt build → GX gates → summary."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

import simulator
from connectors import run
from connectors.landing import known_files
from simulator import http_api
from yiwang import publish
from yiwang.progress import Progress
from yiwang.settings import REPO_ROOT, SYSTEMS, Settings, get_settings
from yiwang.summary import print_summary
from yiwang.warehouse import open_warehouse

SECRET_VARS = ("YIWANG_APPROVAL_TOKEN", "YIWANG_SERVICES_API_KEY", "YIWANG_HMAC_KEY")
EXTRACT_DAGS = [f"yiwang_extract_{s}" for s in SYSTEMS]
BUILD_DAG = "yiwang_build"


def run_simulator(
    out: Path,
    *,
    scale: str,
    seed: int,
    dirt_rate: float = 0.05,
    mariadb_url: str | None = None,
    console: Console,
    effects: dict[str, float] | None = None,
    variant: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`variant`: years / communities / grids / names of a variant city (simulator.generate)."""

    with Progress(console) as p:
        return simulator.generate(
            out,
            scale=scale,
            seed=seed,
            dirt_rate=dirt_rate,
            mariadb_url=mariadb_url,
            progress=p.callback("simulate"),
            effects=effects or None,
            **(variant or {}),
        )


def ensure_secrets(console: Console) -> None:
    """The demo's simulated systems need credentials; generate throwaway ones for this run if none are set."""
    made = []
    for var in SECRET_VARS:
        if not os.environ.get(var):
            os.environ[var] = secrets.token_urlsafe(24)
            made.append(var)
    if made:
        console.print(f"generated throwaway secrets for this run: {', '.join(made)}")


def sources_current(out: Path, scale: str, seed: int) -> bool:
    manifest = out / "manifest.json"
    if not manifest.exists():
        return False
    m = json.loads(manifest.read_text(encoding="utf-8"))
    return m.get("scale") == scale and m.get("seed") == seed


def airflow_env(settings: Settings) -> dict[str, str]:
    home = settings.airflow_home
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO_ROOT / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        AIRFLOW__CORE__PARALLELISM="2",
        AIRFLOW__LOGGING__LOGGING_LEVEL="WARNING",
        YIWANG_DBT_TASKS=os.environ.get("YIWANG_DBT_TASKS") or "layer",
        YIWANG_HOME=str(settings.home),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


@dataclass
class DagRunsResult:
    """What one ``yiwang.airflow_runs`` process reported: each DAG's final state (``None``: never reported)."""

    states: dict[str, str | None]
    migrated: bool
    returncode: int

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and all(s == "success" for s in self.states.values())


def run_dags_in_airflow(
    console: Console,
    env: dict[str, str],
    log: Path,
    dag_ids: list[str],
    labels: list[str] | None = None,
    *,
    migrate: bool = False,
) -> DagRunsResult:
    """One Airflow process (``python -m yiwang.airflow_runs``) runs ``dag_ids`` in order, each as ``airflow dags
    test`` runs a DAG, with Airflow's output appended to ``log``; a line per DAG on the console (label, ok or
    failed, seconds) as each run ends, and the log named when one failed. ``migrate``: ``airflow db migrate``
    first, in the same process."""
    labels = labels or dag_ids
    read_fd, write_fd = os.pipe()
    cmd = [sys.executable, "-m", "yiwang.airflow_runs", "--report-fd", str(write_fd)]
    cmd += [*(["--migrate"] if migrate else []), *dag_ids]
    try:
        with log.open("a", encoding="utf-8") as fh:
            fh.write(f"\n$ python {' '.join(cmd[1:])}\n")
            fh.flush()
            proc = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, pass_fds=(write_fd,))
    finally:
        os.close(write_fd)
    states: dict[str, str | None] = dict.fromkeys(dag_ids)
    migrated = False
    try:
        with console.status("airflow: starting") as status, os.fdopen(read_fd, encoding="utf-8") as events:
            for line in events:
                event = json.loads(line)
                if event["event"] == "migrated":
                    migrated = True
                    console.print(f"  airflow metadata ready ({event['seconds']:.0f} s)")
                elif event["event"] == "start":
                    status.update(f"airflow DAG run {labels[event['index']]}")
                elif event["event"] == "end":
                    states[event["dag_id"]] = event["state"]
                    failed = event["state"] != "success"
                    mark = f"[red]{event['state']}[/]" if failed else "[green]ok[/]"
                    console.print(f"  {labels[event['index']]}: {mark} ({event['seconds']:.0f} s)")
        result = DagRunsResult(states, migrated, proc.wait())
    finally:
        if proc.poll() is None:  # the demo stops (Ctrl-C, an error) before Airflow did: no orphan runs on
            proc.kill()
            proc.wait()
    if migrate and not migrated:
        console.print("[red]airflow db migrate failed[/]")
    not_run = [label for label, d in zip(labels, dag_ids, strict=True) if states[d] is None]
    if not_run:
        console.print(f"[red]Airflow stopped before these DAG runs ended:[/] {', '.join(not_run)}")
    if not result.ok:
        console.print(f"  see {log}")
    return result


def run_airflow(
    console: Console,
    settings: Settings,
    first_delivery: list[str] | None = None,
    redeliver: Callable[[], object] | None = None,
) -> bool:
    """Every DAG run of the demo through Airflow, in one Airflow process (``yiwang.airflow_runs``: what
    ``airflow dags test`` does, DAG after DAG, every run and task recorded in Airflow's metadata DB): the six
    extract DAGs, then the build DAG. `first_delivery`: file systems whose extract DAG runs once before the
    others, on the earlier versions of re-sent files; `redeliver` then puts the re-sent versions in place, between
    two Airflow processes (only a first demo on a home has files to deliver twice)."""
    env = airflow_env(settings)
    logs = settings.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / "demo-airflow.log"
    log.write_text("", encoding="utf-8")
    console.print(
        f"running every DAG in one Airflow process (`DAG.test`, as `airflow dags test`), log: {log}"
    )
    first = [f"yiwang_extract_{s}" for s in first_delivery or []]
    ok = True
    if first:
        before = run_dags_in_airflow(
            console, env, log, first, [f"{d} (first delivery)" for d in first], migrate=True
        )
        if not before.migrated:
            return False
        ok = before.ok
    if redeliver is not None:
        redeliver()
    dags = [*EXTRACT_DAGS, BUILD_DAG]
    return run_dags_in_airflow(console, env, log, dags, migrate=not first).ok and ok


def run_build(
    console: Console, target: str | None = None, as_of: dt.date | None = None, full_refresh: bool = False
) -> bool:
    """What the build DAG does, in-process (yiwang.publish.build_and_publish): source freshness, raw gate
    (failing rows quarantined), dbt build into the build schemas, mart gate, publish, docs site. ``as_of``: the
    marts as of that day (dbt var ``as_of``)."""

    def say(step: str, detail: str) -> None:
        console.print(f"  {step}: {detail}")

    try:
        with console.status("build: freshness, raw gate, dbt build, mart gate, publish, docs"):
            # looked up per call
            publish.build_and_publish(target=target, on_step=say, as_of=as_of, full_refresh=full_refresh)
    except Exception as e:  # noqa: BLE001 - report the failing step; the public marts stay as they were
        console.print(f"[red]build failed ({type(e).__name__}); the last published marts stay:[/]\n{e}")
        return False
    return True


def extract_simulated_sources(settings: Settings | None = None) -> None:
    """Land the reference and every system from the home's simulated sources, with the simulated APIs served on a
    loopback port for the run (no injected faults): what the extract DAGs land, for tests and benches that change
    the sources and extract again. Credentials from YIWANG_APPROVAL_TOKEN / YIWANG_SERVICES_API_KEY."""
    settings = settings or get_settings()
    server = http_api.serve_in_thread(
        settings.home / "sources",
        host="127.0.0.1",
        port=0,
        approval_token=os.environ["YIWANG_APPROVAL_TOKEN"],
        services_api_key=os.environ["YIWANG_SERVICES_API_KEY"],
    )
    os.environ["YIWANG_APPROVAL_URL"] = f"{server.url}/approval"
    os.environ["YIWANG_SERVICES_URL"] = f"{server.url}/services"
    get_settings.cache_clear()
    try:
        run.extract_reference()
        for system in SYSTEMS:
            run.extract_system(system)
    finally:
        server.stop()


def run_in_process(
    console: Console, first_delivery: list[str] | None = None, redeliver: Callable[[], object] | None = None
) -> bool:

    ok = True
    with Progress(console) as progress:
        run.extract_reference(progress=progress.callback("reference"))
        for system in [*(first_delivery or []), None, *SYSTEMS]:
            if system is None:
                if redeliver is not None:
                    redeliver()
                continue
            try:
                run.extract_system(system, progress=progress.callback(system))
            except Exception as e:  # noqa: BLE001 - report, go on with the other systems
                console.print(f"[red]{system} failed:[/] {e}")
                ok = False
    return run_build(console) and ok


def first_delivery_pending(out: Path, settings: Settings) -> list[str]:
    """File systems with a re-sent file (simulator: truth/resend/earlier/<system>/...) whose earlier version
    the warehouse has never seen. The demo lands those earlier versions first and then the re-sent ones,
    so the connectors meet a file delivered again at the same path with new content, as the contract says
    files arrive."""

    earlier = out / "truth" / "resend" / "earlier"
    wanted = {
        system: [
            p.relative_to(earlier / system).as_posix()
            for p in sorted((earlier / system).rglob("*"))
            if p.is_file()
        ]
        for system in SYSTEMS
        if (earlier / system).is_dir()
    }
    wanted = {s: rels for s, rels in wanted.items() if rels}
    if not wanted:
        return []
    with open_warehouse(settings.warehouse_url) as wh:
        return [s for s, rels in wanted.items() if not set(rels) & set(known_files(wh, s))]


def run_demo(console: Console, *, scale: str, seed: int, use_airflow: bool, fresh: bool) -> bool:

    settings = get_settings()
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if fresh:
        if settings.is_duckdb and settings.duckdb_path.exists():
            settings.duckdb_path.unlink()
        shutil.rmtree(settings.airflow_home, ignore_errors=True)
    ensure_secrets(console)
    out = settings.home / "sources"
    if sources_current(out, scale, seed):
        console.print(f"simulated sources in {out} are current ({scale}, seed {seed}); not regenerating")
    else:
        run_simulator(out, scale=scale, seed=seed, console=console)
    # the simulated APIs misbehave as the contract says (429 + Retry-After, 502/503, a repeated page, an
    # added field), at the rates of the city's dirt configuration (manifest.json)
    faults = http_api.FaultConfig.from_manifest(out)
    server = http_api.serve_in_thread(
        out,
        host="127.0.0.1",
        port=0,
        approval_token=os.environ["YIWANG_APPROVAL_TOKEN"],
        services_api_key=os.environ["YIWANG_SERVICES_API_KEY"],
        faults=faults,
    )
    os.environ["YIWANG_APPROVAL_URL"] = f"{server.url}/approval"
    os.environ["YIWANG_SERVICES_URL"] = f"{server.url}/services"
    get_settings.cache_clear()
    settings = get_settings()
    console.print(
        f"simulated approval/services APIs on {server.url} (faults: 429 {faults.rate_429:.0%}, "
        f"5xx {faults.rate_5xx:.0%}, repeated page {faults.repeat_page:.0%}, "
        f"added field {faults.extra_field_name or 'none'})"
    )
    first = first_delivery_pending(out, settings)
    if first:
        simulator.restore_earlier_versions(out)
        console.print(f"re-sent files: {', '.join(first)} land first as delivered before, then as re-sent")

    def redeliver() -> None:
        simulator.restore_final_versions(out)

    try:
        if use_airflow:
            ok = run_airflow(console, settings, first, redeliver)
        else:
            ok = run_in_process(console, first, redeliver)
    finally:
        server.stop()
        simulator.restore_final_versions(out)
    print_summary(console, since=started)
    return ok
