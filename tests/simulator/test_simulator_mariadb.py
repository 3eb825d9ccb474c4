"""Writing the SQL systems into MariaDB (skipped when MariaDB is unreachable, unless CI=true)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import simulator

URL = os.environ.get("YIWANG_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/yiwang_sim_test")


def _reachable() -> str | None:
    try:
        import pymysql

        pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", connect_timeout=3).close()
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"MariaDB not reachable at 127.0.0.1:3306 ({exc})"


def test_generate_into_mariadb(tmp_path: Path) -> None:
    reason = _reachable()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    import sqlalchemy as sa

    manifest = simulator.generate(tmp_path / "m", scale="tiny", seed=4, mariadb_url=URL)
    engine = sa.create_engine(URL)
    with engine.connect() as con:
        for system in ("grid", "party"):
            for name, count in manifest["row_counts"][system].items():
                assert con.execute(sa.text(f"SELECT COUNT(*) FROM `{name}`")).scalar() == count
        cols = [r[0] for r in con.execute(sa.text("SHOW COLUMNS FROM wg_syrk"))]
        from simulator.contract import table

        assert cols == table("grid", "wg_syrk").columns
    engine.dispose()
