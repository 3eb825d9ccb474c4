"""Run a command and measure it: wall seconds and the peak RSS of its whole process tree."""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent


def run_measured(args: list[str], env: dict[str, str]) -> tuple[float, int]:
    """(seconds, peak RSS bytes of the process and its children, sampled every 50 ms); raises on failure.

    Output goes to a temporary file, not a pipe, so a chatty command (dbt) can never block on a full pipe.
    """
    with tempfile.TemporaryFile() as log:
        t0 = time.perf_counter()
        proc = psutil.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        peak = 0
        while proc.poll() is None:
            try:
                rss = proc.memory_info().rss + sum(c.memory_info().rss for c in proc.children(recursive=True))
                peak = max(peak, rss)
            except psutil.Error:
                pass
            time.sleep(0.05)
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            log.seek(0)
            out = log.read().decode("utf-8", "replace")
            raise RuntimeError(f"{' '.join(args[:3])} failed ({proc.returncode}):\n{out[-4000:]}")
    return seconds, peak


def baseline_tree(work: Path, rev: str) -> Path:
    """The baseline commit ``rev`` as a detached worktree ``work/baseline-src`` of this repository (made once; moved
    to ``rev`` if it is elsewhere), for benches that compare a baseline with this tree in one command."""
    src = work / "baseline-src"
    want = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", rev], capture_output=True, text=True, check=True
    ).stdout.strip()
    if not src.exists():
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(src), want], check=True)
    else:
        subprocess.run(["git", "-C", str(src), "checkout", "--detach", "-q", want], check=True)
    return src
