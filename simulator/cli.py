"""`python -c 'import simulator; simulator.main()'` for quick manual runs (the project CLI wraps generate)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from simulator.increment import simulate_increment
    from simulator.pipeline import generate

    parser = argparse.ArgumentParser(prog="simulator")
    sub = parser.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("out_dir", type=Path)
    g.add_argument("--scale", default="small")
    g.add_argument("--seed", type=int, default=42)
    g.add_argument("--dirt-rate", type=float, default=0.05)
    g.add_argument("--mariadb-url", default=None)
    g.add_argument(
        "--years", type=int, default=2, help="variant city: calendar years in the window, from 2024"
    )
    g.add_argument("--communities", type=int, default=100, help="variant city: number of communities")
    g.add_argument("--grids", type=int, default=634, help="variant city: number of grids")
    g.add_argument(
        "--surnames",
        choices=["default", "southern", "uniform"],
        default="default",
        help="variant city: name style",
    )
    inc = sub.add_parser("increment")
    inc.add_argument("out_dir", type=Path)
    inc.add_argument("--seed", type=int, default=1)
    inc.add_argument("--fraction", type=float, default=0.01)
    s = sub.add_parser("serve")
    s.add_argument("data_dir", type=Path)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8800)
    s.add_argument("--approval-token", required=True)
    s.add_argument("--services-api-key", required=True)
    args = parser.parse_args(argv)
    t0 = time.time()
    if args.cmd == "generate":

        def progress(stage: str, done: int, total: int) -> None:
            print(f"[{time.time() - t0:7.1f}s] {stage} {done}/{total}", file=sys.stderr)

        manifest = generate(
            args.out_dir,
            scale=args.scale,
            seed=args.seed,
            dirt_rate=args.dirt_rate,
            mariadb_url=args.mariadb_url,
            progress=progress,
            years=args.years,
            communities=args.communities,
            grids=args.grids,
            names=args.surnames,
        )
        print(json.dumps(manifest["row_counts"], ensure_ascii=False, indent=1))
    elif args.cmd == "increment":
        print(
            json.dumps(
                simulate_increment(args.out_dir, seed=args.seed, fraction=args.fraction),
                ensure_ascii=False,
                indent=1,
            )
        )
    else:
        from simulator.http_api import serve

        serve(
            args.data_dir,
            host=args.host,
            port=args.port,
            approval_token=args.approval_token,
            services_api_key=args.services_api_key,
        )
    print(f"done in {time.time() - t0:.1f}s", file=sys.stderr)
    return 0
