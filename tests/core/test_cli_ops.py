"""Issue 12 (8): `yiwang quarantine list` prints data safely; two extracts at once end with a clear message
naming the lock holder; batch ids are never reused."""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from connectors.landing import TableLoad, new_batch_id
from yiwang import cli
from yiwang.contracts import load_contract
from yiwang.settings import get_settings
from yiwang.warehouse import open_warehouse

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("YIWANG_HOME", str(tmp_path))
    monkeypatch.setenv("YIWANG_WAREHOUSE_URL", f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    monkeypatch.setenv("YIWANG_HOTLINE_DIR", str(tmp_path / "hotline"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_quarantine_list_escapes_terminal_control_characters(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = load_contract().table("hotline", "tickets")
    hostile = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\rOVERWRITE\b\u202etxt.exe\x9b[1m [bold]markup[/bold]"
    with open_warehouse() as wh, TableLoad(wh, table, source_file=f"2024-03-01{hostile}.jsonl") as load:
        load.quarantine('{"gdbh": "GD1", "nr": "' + hostile + '"}', "malformed_json", f"line 1: {hostile}")
    buf = io.StringIO()
    monkeypatch.setattr(
        cli, "console", Console(file=buf, width=1000, force_terminal=False, color_system=None)
    )
    result = CliRunner().invoke(cli.main, ["quarantine", "list", "--system", "hotline"])
    assert result.exit_code == 0, result.output
    out = buf.getvalue()
    assert re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]", out) is None, repr(out)
    assert "\\x1b]0;pwned\\x07\\x1b[2J\\x1b[31mred\\rOVERWRITE\\x08\\u202etxt.exe\\x9b[1m" in out
    assert "[bold]markup[/bold]" in out  # shown as it is, not interpreted as rich markup


def test_two_extracts_at_once_name_the_lock_holder(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "hotline").mkdir()
    # a running extract: holds the extract lock and has the DuckDB warehouse open (DuckDB locks the file too)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, duckdb\nfrom pathlib import Path\nfrom connectors.lock import run_lock\n"
            "with run_lock(Path(sys.argv[1]), 'extract'):\n    con = duckdb.connect(sys.argv[1] + '/warehouse.duckdb')\n"
            "    print('locked', flush=True)\n    time.sleep(60)\n",
            str(home),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        buf = io.StringIO()
        monkeypatch.setattr(
            cli, "console", Console(file=buf, width=1000, force_terminal=False, color_system=None)
        )
        result = CliRunner().invoke(cli.main, ["extract", "hotline"])
        out = buf.getvalue()
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), (result.exception, out)
        assert "Traceback" not in out + result.output
        assert "another extract is running" in out
        assert f"pid {holder.pid}" in out and f"host {socket.gethostname()}" in out and "started at 20" in out
    finally:
        holder.terminate()
        holder.wait(timeout=10)
    # the holder is gone: the lock goes with it (no stale lock file blocks the next extract)
    buf = io.StringIO()
    monkeypatch.setattr(
        cli, "console", Console(file=buf, width=1000, force_terminal=False, color_system=None)
    )
    result = CliRunner().invoke(cli.main, ["extract", "hotline"])
    assert result.exit_code == 0, buf.getvalue()


def test_batch_ids_are_fresh_uuid7(tmp_path: Path) -> None:
    ids = [new_batch_id("grid", "wg_grid") for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(
        re.fullmatch(r"grid\.wg_grid\.[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", i)
        for i in ids
    )
    # another process, same second: still different (no per-run counter, no clock-only id)
    other = subprocess.run(
        [
            sys.executable,
            "-c",
            "from connectors.landing import new_batch_id\nprint(new_batch_id('grid', 'wg_grid'))",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ},
    ).stdout.strip()
    assert other not in ids
    # the same rows landed twice: two batches, two ids
    grid = load_contract().table("grid", "wg_grid")
    row = {"wgbm": "420106001001001", "update_time": "2024-01-01 08:00:00"}
    with open_warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}") as wh:
        batches = []
        for _ in range(2):
            with TableLoad(wh, grid) as load:
                load.add_rows([row])
            batches.append(load.batch_id)
            time.sleep(0.005)
        assert batches[0] != batches[1] and batches[0] < batches[1]  # time-ordered


def test_extract_of_a_system_already_running_is_refused(home: Path) -> None:
    from connectors.lock import LockHeld, run_lock
    from connectors.run import extract_system

    (home / "hotline").mkdir()
    with (
        run_lock(home, "extract-hotline"),
        pytest.raises(
            LockHeld,
            match=r"another extract of hotline is running: "
            rf"pid {os.getpid()} on host ",
        ),
    ):
        extract_system("hotline")
    assert extract_system("hotline") == []  # released: the next one runs
