"""The raw gate reads only the batches it has not validated (ops.raw_gate_batches), with the outcome of reading
every row: batch by batch gives the rejects, quarantine and verdict of gating everything at once, also for a row
whose reference arrives in a later batch (released then), a row delivered again in a later batch (one reject,
its first batch), schema drift judged across batches; a rerun with nothing new reads nothing and changes nothing;
changed rules, ``full=True`` or a reloaded table read every row again."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from expectations.run import GateResult, run_gate
from expectations.suites import RAW_SUITES, Check
from yiwang.contracts import load_contract
from yiwang.settings import Settings, load_settings
from yiwang.warehouse import open_warehouse, qname

RELATIONS = ("raw_grid.wg_syrk", "raw_grid.wg_grid", "raw_reference.divisions")
SPECS = [s for s in RAW_SUITES if s.relation in RELATIONS]
DIVISION_COLUMNS = ["division_code", "name", "level", "parent_code"]
GRID = "420106001001"  # the community of every grid below


def _columns(schema: str, table: str) -> list[str]:
    if schema == "raw_reference":
        return DIVISION_COLUMNS
    return load_contract().table(schema.removeprefix("raw_"), table).columns


def land(settings: Settings, relation: str, batch: str, rows: list[dict[str, Any]]) -> None:
    """Append ``rows`` to raw as one batch (``_row_hash`` from the row, else made up), creating the table."""
    schema, table = relation.split(".")
    cols = [*_columns(schema, table), "_batch_id", "_row_hash"]
    with open_warehouse(settings.warehouse_url) as wh, wh.transaction() as tx:
        tx.execute(f"create schema if not exists {schema}")
        tx.execute(
            f"create table if not exists {qname(schema, table)} ({', '.join(f'{c} varchar' for c in cols)}, "
            "_loaded_at timestamp)"
        )
        for i, r in enumerate(rows):
            values = {**r, "_batch_id": batch, "_row_hash": r.get("_row_hash") or f"{batch}-{i:03d}"}
            tx.execute(
                f"insert into {qname(schema, table)} ({', '.join(cols)}) values ({', '.join('?' for _ in cols)})",
                [values.get(c) for c in cols],
            )


def grids(*codes: str, community: str = GRID) -> list[dict[str, Any]]:
    return [
        {
            "wgbm": c,
            "wgmc": f"网格{c[-3:]}",
            "sqbm": community,
            "update_time": "2026-10-01 08:00:00",
            "_row_hash": c,
        }
        for c in codes
    ]


def division(code: str) -> list[dict[str, Any]]:
    return [
        {
            "division_code": code,
            "name": f"社区{code[-3:]}",
            "level": "社区",
            "parent_code": "",
            "_row_hash": code,
        }
    ]


@pytest.fixture
def residents(good_syrk: list[dict[str, Any]]) -> Any:
    """``residents(start, n, **changes)``: clean residents ``start..start+n-1`` (hash ``r<i>``, grid
    ``GRID + 001..005``); ``changes`` by index: ``{"3": {"rkid": " "}}``."""

    def make(start: int, n: int, **changes: dict[str, Any]) -> list[dict[str, Any]]:
        rows = [dict(r) for r in good_syrk[start : start + n]]
        for i, r in enumerate(rows, start):
            r["_row_hash"] = f"r{i:03d}"
            r.update(changes.get(str(i), {}))
        return rows

    return make


# A day-by-day delivery: a grid arriving after its residents (r006 released), a grid that never arrives (r012),
# a resident delivered again in a later batch (r001, rejected once, under its first batch), a grid rejected
# until its community arrives (grid 006), a batch whose registration times cannot be read (schema drift).
LATE, NEVER, LATER = f"{GRID}999", f"{GRID}888", f"{GRID}777"
DUPLICATE = {"jzlx": "暂住", "_row_hash": "dup"}
Step = list[tuple[str, str, list[dict[str, Any]]]]


@pytest.fixture
def steps(residents: Any) -> list[Step]:
    return [
        [
            ("raw_reference.divisions", "d1", division(GRID)),
            ("raw_grid.wg_grid", "g1", grids(*(f"{GRID}{i:03d}" for i in range(1, 6)))),
            (
                "raw_grid.wg_syrk",
                "s1",
                residents(0, 10, **{"0": {"rkid": " "}, "1": DUPLICATE, "6": {"wgbm": LATE}}),
            ),
        ],
        [
            ("raw_grid.wg_grid", "g2", grids(LATE) + grids(f"{GRID}006", community="420106001002")),
            ("raw_grid.wg_syrk", "s2", residents(10, 10, **{"12": {"wgbm": NEVER}, "13": {"wgbm": LATER}})),
            (
                "raw_grid.wg_syrk",
                "s2d",
                residents(20, 6, **{str(i): {"djsj": "unknown"} for i in range(20, 26)}),
            ),
        ],
        [
            ("raw_reference.divisions", "d2", division("420106001002")),
            ("raw_grid.wg_grid", "g3", grids(LATER)),
            ("raw_grid.wg_syrk", "s3", residents(1, 1, **{"1": DUPLICATE}) + residents(26, 4)),
        ],
    ]


def _homes(
    tmp_path: Path, reader_cache: Path, databases: Callable[[], str] | None
) -> Callable[[str], Settings]:
    def make(name: str) -> Settings:
        home = tmp_path / name
        home.mkdir()
        shutil.copytree(reader_cache, home / "cache", ignore=shutil.ignore_patterns("dbt_compile"))
        url = databases() if databases else f"duckdb:///{home / 'wh.duckdb'}"
        return load_settings({"YIWANG_HOME": str(home), "YIWANG_WAREHOUSE_URL": url})

    return make


@pytest.fixture(params=["duckdb", "postgres"])
def homes(request: pytest.FixtureRequest, tmp_path: Path, reader_cache: Path) -> Callable[[str], Settings]:
    """``homes(name)``: settings of a fresh home and warehouse (DuckDB, or a fresh PostgreSQL database)."""
    databases = request.getfixturevalue("pg_databases") if request.param == "postgres" else None
    return _homes(tmp_path, reader_cache, databases)


@pytest.fixture
def duckdb_homes(tmp_path: Path, reader_cache: Path) -> Callable[[str], Settings]:
    """``duckdb_homes(name)``: settings of a fresh home with a DuckDB warehouse (the rules below hold on both
    warehouses by the same code: the equivalence test runs on both)."""
    return _homes(tmp_path, reader_cache, None)


def gate(settings: Settings, **kw: Any) -> GateResult:
    return run_gate("raw", settings, specs=kw.pop("specs", SPECS), raise_on_failure=False, **kw)


def outcome(settings: Settings, result: GateResult) -> dict[str, Any]:
    """Everything the gate decides: rejects, quarantine entries (all, and those open), verdicts and drift."""
    with open_warehouse(settings.warehouse_url) as wh:
        rejects = sorted(
            wh.query(
                "select system, table_name, _row_hash, rule, batch_id, quarantine_id from ops.raw_rejects "
                "order by 1, 2, 3"
            )
        )
        entries = sorted(
            wh.query(
                "select quarantine_id, system, table_name, batch_id, source_file, rule, reason, row_data, status "
                "from ops.quarantine order by 1"
            )
        )
    return {
        "rejects": rejects,
        "quarantine": entries,
        "open": [e[:-1] for e in entries if e[-1] == "open"],
        "success": result.success,
        "suites": {s.suite: (s.success, sorted(s.drift), s.quarantined) for s in result.suites},
    }


def ops_tables(settings: Settings) -> dict[str, list[tuple]]:
    with open_warehouse(settings.warehouse_url) as wh:
        return {
            t: sorted(wh.query(f"select * from ops.{t}"), key=repr)
            for t in ("raw_rejects", "quarantine", "raw_gate_batches")
        }


def test_batch_by_batch_is_gating_everything_at_once(homes: Any, steps: list[Step]) -> None:
    by_batch, at_once = homes("by_batch"), homes("at_once")
    # on DuckDB also step by step against the gate that reads every row (releases included); the code is the same
    # on PostgreSQL, where the test keeps to batch by batch against all at once (a minute less)
    every_row = homes("every_row") if by_batch.is_duckdb else None
    for step in steps:
        for relation, batch, rows in step:
            for s in (by_batch, every_row, at_once):
                if s is not None:
                    land(s, relation, batch, rows)
        delta = gate(by_batch)
        assert step is steps[0] or sum(delta.rows_read.values()) < sum(s.rows_in_table for s in delta.suites)
        if every_row is not None:
            assert outcome(by_batch, delta) == outcome(every_row, gate(every_row, full=True))
    last = outcome(by_batch, delta)
    once = outcome(at_once, gate(at_once))
    assert last["rejects"] == once["rejects"] and last["open"] == once["open"]
    assert (last["success"], last["suites"]) == (once["success"], once["suites"])
    # what the scenario is about
    rejected = {(r[2], r[4]) for r in last["rejects"]}
    assert ("r000", "s1") in rejected and ("r012", "s2") in rejected
    assert ("dup", "s1") in rejected and ("dup", "s3") not in rejected  # delivered again: one reject
    assert not {h for h, _ in rejected} & {"r006", "r013", f"{GRID}006"}  # their references came later
    assert {h for h, b in rejected if b == "s2d"} == {f"r{i:03d}" for i in range(20, 26)}
    released = {e[0] for e in last["quarantine"] if e[-1] == "released"}
    assert len(released) == 3  # r006, r013 and grid 006, each rejected at one step and released at the next
    assert not last["success"] and any("batch s2d" in d for d in last["suites"]["raw_grid__wg_syrk"][1])


def test_a_column_dropped_early_is_drift_once_a_later_batch_fills_it(
    duckdb_homes: Any, residents: Any
) -> None:
    """Batch s1 leaves jzdz empty in every row: no drift while no batch fills it; once s2 does, s1 has drifted,
    though the gate reads only s2."""
    by_batch, at_once = duckdb_homes("by_batch"), duckdb_homes("at_once")
    early = residents(0, 6, **{str(i): {"jzdz": None} for i in range(6)})
    for s in (by_batch, at_once):
        land(s, "raw_reference.divisions", "d1", division(GRID))
        land(s, "raw_grid.wg_grid", "g1", grids(*(f"{GRID}{i:03d}" for i in range(1, 6))))
        land(s, "raw_grid.wg_syrk", "s1", early)
    assert gate(by_batch).success
    for s in (by_batch, at_once):
        land(s, "raw_grid.wg_syrk", "s2", residents(6, 6))
    delta = gate(by_batch)
    assert delta.rows_read["raw_grid__wg_syrk"] == 6
    once = gate(at_once)
    assert outcome(by_batch, delta) == outcome(at_once, once)
    assert not delta.success and {r[4] for r in outcome(by_batch, delta)["rejects"]} == {"s1"}


def test_a_rerun_with_nothing_new_reads_nothing_and_changes_nothing(
    duckdb_homes: Any, steps: list[Step]
) -> None:
    settings = duckdb_homes("rerun")
    for step in steps:
        for relation, batch, rows in step:
            land(settings, relation, batch, rows)
    first = gate(settings)
    assert sum(first.rows_read.values()) == 2 + 8 + 31  # every row, the first time
    before = ops_tables(settings)
    again = gate(settings)
    assert again.rows_read == {s.name: 0 for s in SPECS}
    assert all(s.scope == "nothing new" for s in again.suites), again.summary()
    assert ops_tables(settings) == before
    assert outcome(settings, again)["suites"] == outcome(settings, first)["suites"]
    assert "read 0 of 31 rows (nothing new)" in again.summary()
    assert again.to_dict()["rows_read"]["raw_grid__wg_syrk"] == 0


def test_changed_rules_a_forced_run_or_a_reloaded_table_read_every_row(
    duckdb_homes: Any, steps: list[Step]
) -> None:
    settings = duckdb_homes("rules")
    for relation, batch, rows in steps[0]:
        land(settings, relation, batch, rows)
    gate(settings)
    syrk = next(s for s in SPECS if s.relation == "raw_grid.wg_syrk")
    stricter = dataclasses.replace(
        syrk,
        checks=(
            *syrk.checks,
            Check(
                "expect_column_values_to_not_be_null",
                {"column": "_text__sjhm"},
                None,
                ("text", "sjhm"),
                "no phone",
            ),
        ),
    )
    others = [s for s in SPECS if s is not syrk]
    changed = gate(settings, specs=[stricter, *others])
    assert changed.rows_read == {syrk.name: 10, "raw_grid__wg_grid": 0, "raw_reference__divisions": 0}
    assert "rules changed" in next(s.scope for s in changed.suites if s.suite == syrk.name)
    assert gate(settings, specs=[stricter, *others]).rows_read[syrk.name] == 0  # recorded under the new rules
    assert sum(gate(settings, full=True).rows_read.values()) == 16
    # a reloaded grid table (a batch validated before is gone): it and the residents referring to it are read whole
    with open_warehouse(settings.warehouse_url) as wh, wh.transaction() as tx:
        tx.execute("delete from raw_grid.wg_grid where _row_hash = ?", [f"{GRID}005"])
    reloaded = gate(settings)
    assert reloaded.rows_read == {syrk.name: 10, "raw_grid__wg_grid": 4, "raw_reference__divisions": 0}
    assert "r004" in {r[2] for r in outcome(settings, reloaded)["rejects"]}  # its grid is gone
