"""schemathesis against the API's own OpenAPI document, every check, on a real server over the tiny city.

Two runs: path parameters generated freely (mostly unknown objects: 404s, 422s), and path parameters pinned to
objects the city has, so the fuzzed query parameters reach real rows and the response schemas are checked on
real payloads. Bounded (--max-examples, deterministic generation) to stay within about a minute; a failure
prints schemathesis' report with a reproducing curl command.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from servingcity import City, Keys, serve

from yiwang.snapshot import current_snapshot

pytestmark = [pytest.mark.xdist_group("serving_city"), pytest.mark.slow]

ST = str(Path(sys.executable).parent / "schemathesis")


def real_objects(city: City, keys: Keys) -> dict[str, str]:
    con = duckdb.connect(str(current_snapshot(city.settings)), read_only=True)
    try:
        one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "path.item_code": one(
                "select item_code from mart_catalog.approval_on_time_by_item_period group by 1 order by count(*) desc, 1 limit 1"
            ),
            "path.grid_code": one(
                "select grid_code from mart_governance.governance_by_grid_month where grid_code is not null order by events desc, 1 limit 1"
            ),
            "path.community_code": one(
                "select community_code from mart_party.party_check_in_rate_by_community where community_code is not null order by 1 limit 1"
            ),
            "path.department_uscc": keys.own_dept_uscc,
            "path.resident_key": one("select min(resident_key) from mart_residents.resident_services"),
        }
    finally:
        con.close()


@pytest.mark.parametrize("objects", ["generated", "real"])
def test_schemathesis_all_checks_zero_failures(city: City, keys: Keys, tmp_path: Path, objects: str) -> None:
    if objects == "real":
        params = "\n".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in real_objects(city, keys).items())
        (tmp_path / "schemathesis.toml").write_text(f"[parameters]\n{params}\n", encoding="utf-8")
    with serve(city, rate=100_000.0, burst=100_000) as server:
        out = subprocess.run(
            [
                ST,
                "run",
                f"{server.url}/openapi.json",
                "--checks",
                "all",
                "--max-examples",
                "30",
                "--generation-deterministic",
                "--header",
                f"X-API-Key: {keys.all_depts}",
                "--workers",
                "1",
                "--no-color",
                "--report-dir",
                str(tmp_path),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            cwd=tmp_path,  # its own schemathesis.toml (or none): the defaults plus the options above
        )
    report = out.stdout[-6000:] + out.stderr[-2000:]
    assert out.returncode == 0, report
    assert "8 selected / 8 total" in out.stdout and " passed" in out.stdout and "failed" not in out.stdout, (
        report
    )
