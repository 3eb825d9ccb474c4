"""Load on the read-only API (serving/): open-loop request rates from a second process on loopback.

    nice -n 10 .venv/bin/python bench/serve.py --home /path/to/a/built/home [--rates 50,200,500] [--seconds 15]
        [--workers 1] [--uncached-rates 50] [--during-build]

The home must hold a published city (``yiwang demo --scale medium --no-airflow`` built into it). The command
starts ``yiwang serve`` on a free loopback port over that home (the per-caller rate limit raised out of the way:
every request comes from 127.0.0.1), then for each route and rate runs the load generator — ``bench/serve.py
--client``, a separate Python process with an asyncio HTTP/1.1 client — and prints a table.

The generator is open-loop: request i is due at start + i/rate whatever happened to the earlier ones (no waiting
for answers, so a slow server cannot slow the offered load down), and its latency counts from when it was due,
so time a request spent waiting for the client is in the figure too (no coordinated omission). ``late`` is the
95th percentile of how far behind schedule requests were sent: if it is large the client, not the server, was
the limit. Errors: any answer but 200, and timeouts (5 s) or connection failures.

Routes: catalog search (``/v1/catalog?q=<term>&limit=20``, terms drawn from the catalog's item names) and the
community dashboard (``/v1/dashboards/communities/<code>``, every community), cycled in a fixed order.

The API keeps the serialised public answers of the current publish (serving.routes.ResponseCache), and the
routes above cycle through a few hundred URLs, each asked once before the measurements, so the fixed-rate rows
measure answers from that cache; the rows marked "every answer computed" (``--uncached-rates``) add a query parameter the API ignores
but the cache keys on, unique per request, so every request queries the snapshot and serialises its answer.

``--during-build`` runs every rate again while ``yiwang build --accept-output-change`` runs in the same home (one
build after another until the measurements end; the publish at a build's end swaps the snapshot under the API).
The first round starts 20 s into a build and may end before its publish; ``--through-publish`` measures round after
round until a build has published, so the swap falls inside a measured row.
The builds need the home's environment (``YIWANG_HMAC_KEY`` as the home was built with, exported before the command).
Figures are from whatever machine this runs on: on a shared machine say so next to them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TIMEOUT_S = 5.0


# -- the load generator (its own process) ----------------------------------------------------------------------
MAX_CONNECTIONS = 256


async def _response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one HTTP/1.1 response: its status and whether the connection stays open."""
    status = int((await reader.readuntil(b"\r\n")).split(b" ", 2)[1])
    length, keep = 0, True
    while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
        name, _, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and value == "close":
            keep = False
        elif name == "transfer-encoding":
            raise ValueError("chunked answers are not read by this client")
    await reader.readexactly(length)
    return status, keep


async def _load(
    base: str, paths: list[str], rate: float, seconds: float, uncached: bool
) -> dict[str, object]:
    """Open loop: request i is handed to an idle keep-alive connection at start + i/rate (a new connection when
    none is idle, up to MAX_CONNECTIONS; beyond that it waits in the queue, and its latency shows it)."""
    from urllib.parse import urlsplit

    url = urlsplit(base)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    n = int(rate * seconds)
    latencies: list[float] = []
    lateness: list[float] = []
    errors: dict[str, int] = {}
    queue: asyncio.Queue[int | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    state = {"idle": 0, "last": start}
    run_token = f"{os.getpid()}-{time.time_ns()}"

    def error(kind: str) -> None:
        errors[kind] = errors.get(kind, 0) + 1

    async def connection() -> None:
        reader = writer = None
        while True:
            state["idle"] += 1
            i = await queue.get()
            state["idle"] -= 1
            if i is None:
                break
            due = start + i / rate
            lateness.append(loop.time() - due)
            path = paths[i % len(paths)]
            if (
                uncached
            ):  # a query parameter the API ignores but its answer cache keys on: every request a miss (the
                # run token keeps a later phase from hitting what an earlier phase of the same publish cached)
                path += f"{'&' if '?' in path else '?'}bench={run_token}-{i}"
            try:
                if writer is None:
                    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), TIMEOUT_S)
                writer.write(
                    f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: application/json\r\n\r\n".encode()
                )
                status, keep = await asyncio.wait_for(_response(reader), TIMEOUT_S)
                if status == 200:
                    latencies.append(loop.time() - due)
                else:
                    error(str(status))
            except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError) as e:
                error(type(e).__name__)
                keep = False
            state["last"] = loop.time()
            if not keep and writer is not None:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    workers: list[asyncio.Task[None]] = []
    for i in range(n):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if state["idle"] == 0 and len(workers) < MAX_CONNECTIONS:
            workers.append(asyncio.create_task(connection()))
        queue.put_nowait(i)
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return {
        "sent": n,
        "ok": len(latencies),
        "errors": errors,
        "elapsed": state["last"] - start,
        "connections": len(workers),
        "latencies": latencies,
        "lateness": lateness,
    }


def client_main(args: argparse.Namespace) -> None:
    paths = json.loads(Path(args.paths).read_text(encoding="utf-8"))
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(_load(args.client, paths, args.rate, args.seconds, args.uncached))
    Path(args.out).write_text(json.dumps(result), encoding="utf-8")


# -- the driver --------------------------------------------------------------------------------------------------
def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _routes(home: Path) -> dict[str, list[str]]:
    """Paths per route, from the published snapshot: catalog search terms and every community."""
    import duckdb

    snapshot = (home / "published" / "marts.duckdb").resolve()
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        names = [
            r[0] for r in con.execute("select item_name from mart_catalog.service_catalog").fetchall() if r[0]
        ]
        communities = [
            r[0]
            for r in con.execute(
                "select distinct community_code from mart_governance.governance_by_community_month"
                " where community_code is not null order by 1"
            ).fetchall()
        ]
    finally:
        con.close()
    rnd = random.Random(42)
    terms = sorted({n[i : i + 2] for n in names for i in range(0, max(1, len(n) - 1), 2)})
    rnd.shuffle(terms)
    from urllib.parse import quote

    return {
        "catalog search": [f"/v1/catalog?q={quote(t)}&limit=20" for t in terms[:200]],
        "community dashboard": [f"/v1/dashboards/communities/{c}" for c in communities],
    }


class Builds:
    """`yiwang build` in the home, one after another, until stopped."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.stop = threading.Event()
        self.runs: list[tuple[float, int]] = []
        self.proc: subprocess.Popen | None = None
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self.stop.is_set():
            t = time.monotonic()
            self.proc = subprocess.Popen(
                [str(BIN / "yiwang"), "build", "--accept-output-change"],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            rc = self.proc.wait()
            self.runs.append((time.monotonic() - t, rc))

    def __enter__(self) -> Builds:
        self.thread.start()
        time.sleep(20)  # past the raw gate, into dbt
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
        self.thread.join(timeout=60)


def run(args: argparse.Namespace) -> None:
    home = Path(args.home).resolve()
    routes = _routes(home)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "YIWANG_HOME": str(home),
        "YIWANG_SERVING_RATE": "1000000",  # one caller (127.0.0.1) sends everything: the limit would be the figure
        "YIWANG_SERVING_BURST": "1000000",
    }
    env.pop("YIWANG_WAREHOUSE_URL", None)
    server = subprocess.Popen(
        [str(BIN / "yiwang"), "serve", "--port", str(port), "--workers", str(args.workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rows: list[dict[str, object]] = []
    try:
        import httpx

        for _ in range(200):
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        for (
            paths
        ) in routes.values():  # warm: the snapshot open, every answer once (the cached rows are cached)
            for p in paths:
                httpx.get(base + p, timeout=30)

        def measure(phase: str) -> None:
            for name, paths in routes.items():
                for rate, uncached in [(r, False) for r in args.rates] + [
                    (r, True) for r in args.uncached_rates
                ]:
                    f = REPO / "bench" / "results" / "serve-paths.json"
                    f.parent.mkdir(parents=True, exist_ok=True)
                    f.write_text(json.dumps(paths), encoding="utf-8")
                    subprocess.run(
                        [
                            sys.executable,
                            __file__,
                            "--client",
                            base,
                            "--paths",
                            str(f),
                            "--rate",
                            str(rate),
                            "--seconds",
                            str(args.seconds),
                            "--out",
                            str(f.with_name("serve-client.json")),
                            *(["--uncached"] if uncached else []),
                        ],
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    res = json.loads(f.with_name("serve-client.json").read_text(encoding="utf-8"))
                    lat = [x * 1000 for x in res["latencies"]]
                    row = {
                        "phase": phase + (", every answer computed" if uncached else ""),
                        "route": name,
                        "rate": rate,
                        "sent": res["sent"],
                        "ok": res["ok"],
                        "errors": sum(res["errors"].values()),
                        "error_kinds": res["errors"],
                        "throughput": res["ok"] / res["elapsed"],
                        "p50": _pct(lat, 50),
                        "p95": _pct(lat, 95),
                        "p99": _pct(lat, 99),
                        "late_p95": _pct([x * 1000 for x in res["lateness"]], 95),
                    }
                    rows.append(row)
                    print(_line(row), flush=True)

        print(
            f"API: yiwang serve --workers {args.workers} over {home}; {args.seconds:g} s per rate", flush=True
        )
        print(HEADER, flush=True)
        if not args.no_idle:
            measure("idle")
        if args.during_build:
            with Builds({**env, "YIWANG_HOME": str(home)}) as builds:
                measure("during build")
                # --through-publish: more rounds until a build has published (its snapshot swapped under the API)
                rounds = 1
                while args.through_publish and not any(rc == 0 for _, rc in builds.runs) and rounds < 60:
                    rounds += 1
                    measure(f"during build, round {rounds}")
            print(
                "builds during the measurement: "
                + ", ".join(
                    f"{s:.0f} s ({'ok' if rc == 0 else 'stopped' if rc < 0 else f'rc {rc}'})"
                    for s, rc in builds.runs
                ),
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    out = REPO / "bench" / "results" / f"serve-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    print(f"rows: {out}")


HEADER = (
    "| phase | route | rate (req/s) | sent | errors | throughput (req/s) | p50 ms | p95 ms | p99 ms | late p95 ms |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def _line(r: dict[str, object]) -> str:
    kinds = f" ({', '.join(f'{k} {v}' for k, v in r['error_kinds'].items())})" if r["errors"] else ""
    return (
        f"| {r['phase']} | {r['route']} | {r['rate']} | {r['sent']} | {r['errors']}{kinds} | {r['throughput']:.0f} |"
        f" {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {r['late_p95']:.1f} |"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", help="a YIWANG_HOME with a published city (e.g. medium)")
    ap.add_argument("--rates", default="50,200,500", help="requests per second, comma-separated")
    ap.add_argument("--seconds", type=float, default=15.0, help="seconds per route and rate")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn workers of the API")
    ap.add_argument("--during-build", action="store_true", help="measure again while builds run in the home")
    ap.add_argument(
        "--uncached-rates",
        default="50",
        help="rates run again with every request a cache miss (a unique ignored query parameter), comma-separated",
    )
    ap.add_argument("--client", help=argparse.SUPPRESS)  # the load generator process: base URL
    ap.add_argument("--paths", help=argparse.SUPPRESS)
    ap.add_argument("--rate", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--uncached", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument(
        "--no-idle", action="store_true", help="with --during-build: only the measurements during builds"
    )
    ap.add_argument(
        "--through-publish",
        action="store_true",
        help="with --during-build: measure round after round until a build has published (the snapshot swap)",
    )
    args = ap.parse_args()
    if args.client:
        client_main(args)
        return
    if not args.home:
        ap.error("--home is required")
    args.rates = [int(r) for r in args.rates.split(",")]
    args.uncached_rates = [int(r) for r in args.uncached_rates.split(",") if r]
    run(args)


if __name__ == "__main__":
    main()
