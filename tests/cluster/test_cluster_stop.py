"""`yiwang cluster stop` signals by pid, never by name: SIGTERM to each component's process group, SIGKILL to
whatever is left after the grace period (a scheduler may sit out SIGTERM), and a pid file whose pid now belongs
to another process (recycled) leaves that process alone. No server needed: stand-in processes play the parts."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import psutil

from yiwang.cluster import ClusterConfig, running, stop

IGNORES_TERM = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"
OBEYS_TERM = "import time; time.sleep(300)"


def _config(tmp_path: Path) -> ClusterConfig:
    return ClusterConfig.from_env(
        {"YIWANG_HOME": str(tmp_path), "YIWANG_AIRFLOW_STOP_GRACE": "1", "PATH": "/usr/bin:/bin"}
    )


def _spawn(cfg: ClusterConfig, component: str, code: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    cfg.run_dir.mkdir(parents=True, exist_ok=True)
    started = psutil.Process(proc.pid).create_time()
    (cfg.run_dir / f"{component}.pid").write_text(json.dumps({"pid": proc.pid, "started": started}))
    return proc


def test_stop_terminates_then_kills_what_ignores_sigterm(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    stubborn = _spawn(cfg, "scheduler", IGNORES_TERM)
    polite = _spawn(cfg, "worker-1", OBEYS_TERM)
    time.sleep(0.5)  # let the stand-in install its handler
    try:
        assert set(running(cfg)) == {"scheduler", "worker-1"}
        outcome = stop(cfg)
        assert outcome["scheduler"] == "killed"
        assert outcome["worker-1"] == "terminated"
        assert outcome["api-server"] == "not running"
        # both gone (stop may have reaped them already, so their exit codes are not asserted here)
        stubborn.wait(timeout=10)
        polite.wait(timeout=10)
        assert running(cfg) == {}
        assert not list(cfg.run_dir.glob("*.pid"))
    finally:
        for p in (stubborn, polite):
            if p.poll() is None:
                p.kill()
                p.wait()


def test_a_recycled_pid_is_never_signalled(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    bystander = subprocess.Popen([sys.executable, "-c", OBEYS_TERM], start_new_session=True)
    try:
        cfg.run_dir.mkdir(parents=True)
        # the pid file names the bystander's pid, but with the start time of an earlier process
        (cfg.run_dir / "triggerer.pid").write_text(json.dumps({"pid": bystander.pid, "started": 1.0}))
        assert stop(cfg)["triggerer"] == "not running"
        time.sleep(0.3)
        assert bystander.poll() is None, "stop signalled a process the cluster did not start"
    finally:
        bystander.kill()
        bystander.wait()
