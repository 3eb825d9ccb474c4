"""The `yiwang` command line. Every command has --help; long steps show progress."""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

from yiwang.settings import SYSTEMS, ConfigError, get_settings

console = Console(stderr=True)


# What a terminal would act on rather than show: C0/C1 controls (ESC sequences, \r, backspace...), DEL, and
# the invisible bidi / zero-width / line-separator characters that can disguise text.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(value: object) -> str:
    """Text from the data made safe to print: control characters shown as escapes (\\x1b, \\r, \\u202e)."""
    text = "" if value is None else str(value)

    def esc(m: re.Match[str]) -> str:
        ch = m.group(0)
        return _NAMED.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")

    return _CONTROL.sub(esc, text)


def _fail(message: str) -> None:
    console.print(Text.assemble(("error: ", "bold red"), printable(message)))
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="yiwang")
def main() -> None:
    """yiwang (一网): pull six department systems into one warehouse, unify, check and publish marts.

    Paths come from YIWANG_HOME (default ./var) and sources.yaml (YIWANG_SOURCES); see README.md.
    """


# -- simulate ------------------------------------------------------------------------------------
@main.command()
@click.option(
    "--scale",
    type=click.Choice(["small", "medium", "city"]),
    default="small",
    show_default=True,
    help="small ~2k residents (seconds), medium ~50k, city ~2M.",
)
@click.option("--seed", type=int, default=42, show_default=True, help="Same seed, same bytes.")
@click.option(
    "--dirt-rate",
    type=float,
    default=0.05,
    show_default=True,
    help="Rate of each kind of dirt the contract lists (0 = clean).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Output directory [default: $YIWANG_HOME/sources].",
)
@click.option(
    "--mariadb-url", default=None, help="Also write grid/party tables into this MariaDB (SQLAlchemy URL)."
)
@click.option(
    "--effect",
    "effects",
    multiple=True,
    metavar="NAME=VALUE",
    help="Inject a known effect (repeatable), e.g. joint_mechanism_complaint_drop=0.3 or "
    "certified_worker_on_time_lift=0.1; its ground truth goes into manifest.json.",
)
@click.option(
    "--years",
    type=click.IntRange(1, 10),
    default=2,
    show_default=True,
    help="Variant city: whole calendar years in the window, from 2024.",
)
@click.option(
    "--communities",
    type=int,
    default=100,
    show_default=True,
    help="Variant city: number of communities (18-702).",
)
@click.option(
    "--grids",
    type=int,
    default=634,
    show_default=True,
    help="Variant city: number of grids (at least one per community, at most 5000).",
)
@click.option(
    "--surnames",
    type=click.Choice(["default", "southern", "uniform"]),
    default="default",
    show_default=True,
    help="Variant city: name style (southern: 陈/黄/林/梁 head, repeated two-character "
    "given names; uniform: no head).",
)
def simulate(
    scale: str,
    seed: int,
    dirt_rate: float,
    out: Path | None,
    mariadb_url: str | None,
    effects: tuple[str, ...],
    years: int,
    communities: int,
    grids: int,
    surnames: str,
) -> None:
    """Generate the six department systems (and ground truth) as the contracts describe them."""
    from simulator.effects import Effects
    from simulator.geography import check_geography
    from yiwang.demo import run_simulator

    parsed: dict[str, float] = {}
    for item in effects:
        name, _, value = item.partition("=")  # no "=": value is "", which float() refuses too
        try:
            parsed[name.strip()] = float(value)
        except ValueError:
            raise click.BadParameter(
                f"{item!r}: expected NAME=VALUE with a number", param_hint="--effect"
            ) from None
    try:
        Effects.coerce(parsed)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--effect") from e
    out = out or get_settings().home / "sources"
    try:
        check_geography(communities, grids)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--communities / --grids") from e
    variant = {"years": years, "communities": communities, "grids": grids, "names": surnames}
    manifest = run_simulator(
        out,
        scale=scale,
        seed=seed,
        dirt_rate=dirt_rate,
        mariadb_url=mariadb_url,
        console=console,
        effects=parsed,
        variant=variant,
    )
    console.print(f"[green]simulated[/] {scale} city (seed {seed}) into {out}")
    _print_counts(manifest)


def _print_counts(manifest: dict) -> None:
    from rich.table import Table

    counts = manifest.get("counts") or manifest.get("row_counts") or {}
    t = Table("system", "table", "rows", title="simulated rows")
    for system, tables in sorted(counts.items()):
        if isinstance(tables, dict):
            for table, n in sorted(tables.items()):
                t.add_row(system, table, str(n))
    console.print(t)


# -- serve the simulated APIs ---------------------------------------------------------------------
@main.command("serve-sources")
@click.option("--port", type=int, default=8765, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    default=None,
    help="Simulator output [default: $YIWANG_HOME/sources].",
)
def serve_sources(port: int, host: str, data: Path | None) -> None:
    """Serve the simulated approval and services HTTP APIs (tokens from YIWANG_APPROVAL_TOKEN/_SERVICES_API_KEY)."""
    from simulator import http_api

    data = data or get_settings().home / "sources"
    token = os.environ.get("YIWANG_APPROVAL_TOKEN")
    key = os.environ.get("YIWANG_SERVICES_API_KEY")
    if not token or not key:
        _fail("set YIWANG_APPROVAL_TOKEN and YIWANG_SERVICES_API_KEY: the API checks them")
    http_api.serve(data, host=host, port=port, approval_token=token, services_api_key=key)


# -- extract ----------------------------------------------------------------------------------------
@main.command()
@click.argument("systems", nargs=-1, type=click.Choice([*SYSTEMS, "reference", "all"]))
@click.option(
    "--full-refresh",
    is_flag=True,
    help="Read SQL/HTTP sources from the beginning, not from the cursor (late rows beyond the lookback).",
)
def extract(systems: tuple[str, ...], full_refresh: bool) -> None:
    """Extract SYSTEMS (default all) from their sources and land them in raw_<system>.*

    Incremental: each table is read from its stored cursor minus the source's lookback window
    (`lookback_hours` in sources.yaml, default 72), so late rows inside the window are picked up.
    """
    from connectors import run
    from connectors.lock import LockHeld, run_lock
    from yiwang.progress import Progress
    from yiwang.summary import print_ledger

    chosen = list(SYSTEMS) if not systems or "all" in systems else list(systems)
    failed = []
    try:
        with run_lock(get_settings().home, "extract"), Progress(console) as progress:
            if "reference" in chosen or chosen == list(SYSTEMS):
                try:
                    run.extract_reference(progress=progress.callback("reference"))
                except Exception as e:  # noqa: BLE001 - report every system, then fail
                    failed.append("reference")
                    console.print(Text.assemble(("reference failed: ", "red"), printable(e)))
            for system in [s for s in chosen if s != "reference"]:
                try:
                    run.extract_system(system, progress=progress.callback(system), full_refresh=full_refresh)
                except Exception as e:  # noqa: BLE001 - report every system, then fail
                    failed.append(system)
                    console.print(Text.assemble((f"{system} failed: ", "red"), printable(e)))
    except LockHeld as e:
        _fail(str(e))
    try:
        print_ledger(console)
    except Exception as e:  # noqa: BLE001 - the loads are done; a ledger that cannot be shown is reported
        console.print(
            Text.assemble(("cannot show the ledger: ", "yellow"), printable(f"{type(e).__name__}: {e}"))
        )
    if failed:
        _fail(f"extract failed for {', '.join(failed)}")


# -- build -------------------------------------------------------------------------------------------
@main.command()
@click.option(
    "--target", default=None, help="dbt target (duckdb or postgres) [default: from the warehouse URL]."
)
@click.option(
    "--accept-output-change",
    is_flag=True,
    help="Publish even when the output gate finds the marts changed (NULL dimensions, fewer communities, "
    "rows moved with no new delivery): the change is deliberate. Same as YIWANG_ACCEPT_OUTPUT_CHANGE=1.",
)
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Build the marts as of this day (YYYY-MM-DD; dbt var as_of): records after it are left out, rolling "
    "windows end on it, period marts show what was known then [default: the latest day of the data].",
)
@click.option(
    "--full-refresh",
    is_flag=True,
    help="dbt's --full-refresh: rebuild every incremental table from all raw rows instead of the changed keys "
    "(staging keeps itself equal to a full rebuild; this re-mints resident keys too).",
)
@click.option(
    "--full-raw-gate",
    is_flag=True,
    help="Re-validate every raw row in the raw gate, not only the batches it has not validated before "
    "(a changed rule already does this by itself). Same as YIWANG_RAW_GATE_FULL=1.",
)
def build(
    target: str | None,
    accept_output_change: bool,
    as_of: dt.datetime | None,
    full_refresh: bool,
    full_raw_gate: bool,
) -> None:
    """Run the raw gate, `dbt build` and the mart gate in-process (what the build DAG does)."""
    from yiwang.demo import run_build

    if accept_output_change:  # read by Settings (yiwang.publish.publish)
        os.environ["YIWANG_ACCEPT_OUTPUT_CHANGE"] = "1"
        get_settings.cache_clear()
    if full_raw_gate:  # read by Settings (expectations.run.run_raw_gate)
        os.environ["YIWANG_RAW_GATE_FULL"] = "1"
        get_settings.cache_clear()
    if not run_build(
        console, target=target, as_of=as_of.date() if as_of else None, full_refresh=full_refresh
    ):
        sys.exit(1)


# -- demo --------------------------------------------------------------------------------------------
@main.command()
@click.option("--scale", type=click.Choice(["small", "medium", "city"]), default="small", show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--no-airflow", is_flag=True, help="Run the stages in-process instead of as Airflow DAG runs.")
@click.option(
    "--fresh", is_flag=True, help="Delete the warehouse and Airflow state first (sources are kept)."
)
@click.option(
    "--dbt-tasks",
    type=click.Choice(["layer", "model"]),
    default="layer",
    show_default=True,
    help="Build DAG: one cosmos task per dbt layer, or one per model (slow under `DAG.test`).",
)
def demo(scale: str, seed: int, no_airflow: bool, fresh: bool, dbt_tasks: str) -> None:
    """The main job on the embedded default: simulate, extract every system, dbt build, GX gates, summary."""
    from yiwang.demo import run_demo

    os.environ["YIWANG_DBT_TASKS"] = dbt_tasks

    started = time.time()
    ok = run_demo(console, scale=scale, seed=seed, use_airflow=not no_airflow, fresh=fresh)
    console.print(f"demo finished in {time.time() - started:.0f} s")
    if not ok:
        sys.exit(1)


@main.group()
def quarantine() -> None:
    """List and re-queue rows that failed a rule at load time (ops.quarantine)."""


@quarantine.command("list")
@click.option("--system", default=None)
@click.option("--table", default=None)
@click.option("--status", default="open", show_default=True, help="open, requeued, or '' for all")
@click.option("--limit", default=50, show_default=True)
def quarantine_list(system: str | None, table: str | None, status: str, limit: int) -> None:
    """Show quarantined rows (personal fields are pseudonymised) with their rule and reason."""
    from rich.table import Table

    from connectors.requeue import list_quarantine
    from yiwang.warehouse import open_warehouse

    with open_warehouse() as wh:
        rows = list_quarantine(wh, system=system, table=table, status=status or None, limit=limit)
    t = Table("id", "system", "table", "source_file", "rule", "reason", "row", "status")
    for r in rows:
        # everything comes from the data: shown as plain text (no rich markup) with control characters escaped
        cells = (
            r["quarantine_id"][:12],
            r["system"],
            r["table_name"],
            r["source_file"] or "",
            r["rule"],
            r["reason"],
            (r["row_data"] or "")[:80],
            r["status"],
        )
        t.add_row(*(Text(printable(c)) for c in cells))
    console.print(t)


@quarantine.command("requeue")
@click.argument("ids", nargs=-1)
@click.option("--system", default=None)
@click.option("--table", default=None)
@click.option("--rule", default=None)
def quarantine_requeue(ids: tuple[str, ...], system: str | None, table: str | None, rule: str | None) -> None:
    """After a fix at the source: mark rows re-queued and rewind the source so the next extract reads them again."""
    from connectors.requeue import requeue
    from yiwang.warehouse import open_warehouse

    with open_warehouse() as wh:
        try:
            res = requeue(wh, ids=list(ids) or None, system=system, table=table, rule=rule)
        except ValueError as e:
            _fail(str(e))
    console.print(
        Text(
            printable(
                f"re-queued {res.rows} rows; files to re-read: {len(res.files_rewound)}; "
                f"cursors rewound: {res.cursors_rewound or 'none'}. Run `yiwang extract` next."
            )
        )
    )


@main.group()
def access() -> None:
    """Department access on PostgreSQL: roles, row-level security, masked reader views, audit (docs/access.md)."""


@access.command("sync")
def access_sync() -> None:
    """Create and keep in step, from the departments and divisions reference, a role per department, street
    and community office, row-level security on the public marts and masked views in schema `reader`.
    Idempotent: a second run changes nothing; roles no longer in the reference are dropped."""
    from yiwang.access import AccessError, sync

    try:
        res = sync()
    except AccessError as e:
        _fail(str(e))
    for change in res.changes:
        console.print(Text(printable(change)))
    for skipped in res.skipped:
        console.print(Text.assemble(("skipped: ", "yellow"), printable(skipped)))
    console.print(Text.assemble(("access in step: ", "green"), printable(res.summary())))


@main.group()
def cluster() -> None:
    """Airflow on this machine as a city runs it: PostgreSQL metadata, CeleryExecutor with Redis, scheduler,
    dag-processor, triggerer, api-server and two Celery workers on loopback (docs/deployment.md)."""


@cluster.command("start")
@click.option(
    "--wait", type=float, default=180.0, show_default=True, help="Seconds to wait for health (0: don't)."
)
def cluster_start(wait: float) -> None:
    """Create and migrate the metadata database, start every component, wait until all are healthy."""
    from yiwang.cluster import ClusterConfig, ClusterError, start

    cfg = ClusterConfig.from_env()
    try:
        pids = start(cfg, wait=wait)
    except ClusterError as e:
        _fail(str(e))
    for component, pid in pids.items():
        console.print(f"{component}: pid {pid}")
    console.print(Text.assemble(("cluster up: ", "green"), f"{cfg.api_url} (logs {cfg.log_dir})"))


@cluster.command("stop")
def cluster_stop() -> None:
    """Stop every component by its pid: SIGTERM, then SIGKILL after YIWANG_AIRFLOW_STOP_GRACE seconds."""
    from yiwang.cluster import ClusterConfig, stop

    for component, outcome in stop(ClusterConfig.from_env()).items():
        console.print(f"{component}: {outcome}")


@cluster.command("status")
def cluster_status() -> None:
    """Which components run (pid), the api-server's health report and the Celery workers that answer."""
    from yiwang.cluster import COMPONENTS, ClusterConfig, status

    st = status(ClusterConfig.from_env())
    procs = st["processes"]
    for component in COMPONENTS:
        console.print(
            f"{component}: {'pid ' + str(procs[component]) if component in procs else 'not running'}"
        )
    console.print(f"health: {st['health'] or 'api-server not answering'}")
    console.print(f"celery workers: {', '.join(st['workers']) or 'none'}")
    console.print(f"api: {st['api']}  logs: {st['logs']}")
    if len(procs) != len(COMPONENTS):
        sys.exit(1)


@main.command()
def summary() -> None:
    """Print rows read / landed / quarantined per system, the last build and the gates."""
    from yiwang.summary import print_summary

    print_summary(console)


from serving.cli import serve  # noqa: E402 - `yiwang serve`, `yiwang serve keys ...` (docs/serving.md)

main.add_command(serve)


def run() -> None:
    try:
        main()
    except ConfigError as e:
        _fail(str(e))


if __name__ == "__main__":
    run()
