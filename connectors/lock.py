"""One extract at a time: a lock file under ``$YIWANG_HOME/locks`` naming its holder.

The lock is an ``flock`` on the file, so it is released by the kernel when the holder exits or dies (a stale
file never blocks anyone); the file's content says who holds it (pid, host, start time, command) so a second
extract ends with a message naming the holder instead of a warehouse error.

The lock covers runs that share a ``YIWANG_HOME`` (the embedded DuckDB default, the CLI, the DAGs of one
Airflow installation). Hosts that share only a PostgreSQL warehouse do not see each other's lock files.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from connectors.errors import ConnectorError


class LockHeld(ConnectorError):
    """Another process holds the lock."""

    def __init__(self, name: str, path: Path, holder: dict[str, object]) -> None:
        self.holder = holder
        who = (
            f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}, started at "
            f"{holder.get('started_at', '?')}"
            if holder
            else "a process that has not written its name yet"
        )
        command = f" ({holder['command']})" if holder.get("command") else ""
        what = f"extract of {name.removeprefix('extract-')}" if name.startswith("extract-") else name
        super().__init__(
            f"another {what} is running: {who}{command}. Wait for it to finish, then run again "
            f"(lock file {path})"
        )


def _holder(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@contextmanager
def run_lock(home: Path, name: str = "extract") -> Iterator[Path]:
    """Hold ``$home/locks/<name>.lock`` for the ``with`` block; raise :class:`LockHeld` if another process has it."""
    path = home / "locks" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise LockHeld(name, path, _holder(path)) from None
    try:
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:200] if sys.argv else "",
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        yield path
    finally:
        try:
            os.ftruncate(fd, 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
