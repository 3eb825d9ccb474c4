"""The GX gates against a small DuckDB warehouse: good data passes; the raw gate judges each row by what
staging reads of it; a broken key / wrong row count fails the mart gate."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from expectations.run import run_gate, run_mart_gate, run_raw_gate
from expectations.suites import RAW_SUITES, raw_suite
from yiwang.settings import Settings

MakeWarehouse = Callable[..., Settings]


def _failed_types(result: Any, suite: str) -> list[str]:
    stats = next(s for s in result.suites if s.suite == suite)
    return [f.split("(", 1)[0] + "(" + f.split("(", 1)[1].split(")", 1)[0] + ")" for f in stats.failed]


def test_good_data_passes_both_gates(warehouse: MakeWarehouse, good_syrk: list, good_catalog: list) -> None:
    settings = warehouse(syrk=good_syrk, catalog=good_catalog)
    raw = run_raw_gate(settings)
    assert raw.success, raw.summary()
    wg = raw.statistics["raw_grid__wg_syrk"]
    assert wg["evaluated"] == wg["successful"] > 5
    mart = run_mart_gate(settings, raise_on_failure=False)
    assert next(s for s in mart.suites if s.suite == "mart_catalog__service_catalog").success, mart.summary()
    assert mart.statistics["mart_catalog__service_catalog"]["evaluated"] >= 6
    assert mart.docs_path and Path(mart.docs_path).is_file()
    assert Path(mart.docs_path).is_relative_to(settings.gx_dir)


def _pairs(settings: Settings, sql: str) -> dict[str, str]:
    """A two-column query over the gate's warehouse, as a dict."""
    import duckdb

    con = duckdb.connect(str(settings.duckdb_path), read_only=True)
    try:
        return dict(con.execute(sql).fetchall())
    finally:
        con.close()


def _rejects(settings: Settings) -> dict[str, str]:
    """ops.raw_rejects of wg_syrk: row hash -> quarantine id."""
    return _pairs(
        settings, "select _row_hash, quarantine_id from ops.raw_rejects where table_name = 'wg_syrk'"
    )


def _reasons(settings: Settings) -> dict[str, str]:
    """ops.raw_rejects of wg_syrk: row hash -> the quarantine reason."""
    return _pairs(
        settings,
        "select x._row_hash, q.reason from ops.raw_rejects x join ops.quarantine q "
        "using (quarantine_id) where x.table_name = 'wg_syrk'",
    )


def test_readable_dirt_is_never_quarantined_however_common(warehouse: MakeWarehouse, good_syrk: list) -> None:
    """Every other row carries dirt staging reads (half the table): no row is quarantined, the gate passes."""
    forms = [
        {"csrq": "1964/2/15", "sfzh": "420106-19800101-0017", "djsj": "2020-01-01"},
        {
            "csrq": "19640215",
            "xb": "1",
            "sfzh": "４２０１０６１９８００１０１００１Ｘ",
            "djsj": "２０２０-０１-０１ ０８:００:００",
        },
        {"csrq": "1964年2月15日", "xb": "F", "sfzh": "4.20106198E+17"},
        {"djsj": "2020/01/01 08:00", "sfsc": "1.0", "sfzh": "无"},
        {"csrq": "23422", "sfzh": "null", "update_time": "2026-10-01T08:00:00+08:00"},
        {"csrq": "", "sfsc": "０"},
    ]
    rows = [dict(r, **forms[(i // 2) % len(forms)]) if i % 2 else r for i, r in enumerate(good_syrk)]
    settings = warehouse(syrk=rows)
    result = run_raw_gate(settings)
    assert result.success, result.summary()
    assert result.quarantined == 0, result.summary()
    assert _rejects(settings) == {}


def test_unreadable_rows_are_quarantined_alone_and_the_same_way_every_run(
    warehouse: MakeWarehouse, good_syrk: list
) -> None:
    rows = [dict(r) for r in good_syrk]
    rows[0]["rkid"] = " "  # the key
    rows[1]["jzlx"] = "暂住"  # a value outside the contract's list
    rows[2]["sfsc"] = "Y"  # a flag that is not 0/1
    rows[3]["djsj"] = "2024-02-30 08:00:00"  # no such day
    rows[5]["wgbm"] = "3网格"  # not a grid code
    rows[6]["wgbm"] = "420106001001999"  # a grid code the grid system never delivered
    rows[8]["update_time"] = "yesterday"
    settings = warehouse(syrk=rows)
    result = run_raw_gate(settings)  # row faults are mended by quarantine: the gate passes
    assert result.success, result.summary()
    bad = {f"hash{i:04d}" for i in (0, 1, 2, 3, 5, 6, 8)}
    first = _rejects(settings)
    assert set(first) == bad
    reasons = _reasons(settings)
    assert "key rkid is missing" in reasons["hash0000"]
    assert "jzlx is not one of the contract's values" in reasons["hash0001"]
    assert "djsj cannot be read as timestamp" in reasons["hash0003"]
    assert "wgbm is not a valid code" in reasons["hash0005"]
    assert "wgbm is not in raw_grid.wg_grid" in reasons["hash0006"]
    again = run_raw_gate(settings)
    assert again.success and _rejects(settings) == first  # same rows, same quarantine ids


def test_rejects_follow_the_current_delivery(warehouse: MakeWarehouse, good_syrk: list) -> None:
    """A row rejected for a missing grid is released when the grid arrives; its quarantine entry says so."""
    import duckdb

    rows = [dict(r) for r in good_syrk]
    rows[6]["wgbm"] = "420106001001999"
    settings = warehouse(syrk=rows)
    run_raw_gate(settings)
    assert set(_rejects(settings)) == {"hash0006"}
    con = duckdb.connect(str(settings.duckdb_path))
    con.execute(
        "insert into raw_grid.wg_grid (wgbm, sqbm, update_time, _batch_id, _row_hash) "
        "values ('420106001001999', '420106001001', '2026-11-01 08:00:00', 'g2', 'gx')"
    )
    con.close()
    run_raw_gate(settings)
    assert _rejects(settings) == {}
    con = duckdb.connect(str(settings.duckdb_path), read_only=True)
    assert con.execute("select status from ops.quarantine").fetchall() == [("released",)]
    con.close()


def test_a_check_against_an_empty_reference_fails(warehouse: MakeWarehouse, good_syrk: list) -> None:
    result = run_raw_gate(warehouse(syrk=good_syrk, grids=[]), raise_on_failure=False)
    stats = next(s for s in result.suites if s.suite == "raw_grid__wg_syrk")
    assert not result.success and not stats.success
    assert any("raw_grid.wg_grid.wgbm holds no value" in f for f in stats.failed), stats.failed


def test_schema_drift_is_a_changed_column_never_a_share_of_dirt(
    warehouse: MakeWarehouse, good_syrk: list
) -> None:
    # batch b2: every registration time unreadable (the column was retyped); batch b3: half of them (dirt)
    rows = [dict(r) for r in good_syrk]
    for i in range(10):
        rows[i].update(_batch_id="b2", djsj="unknown")
    for i in range(10, 20):
        rows[i].update(_batch_id="b3", djsj="unknown" if i % 2 else "2020-01-01 08:00:00")
    result = run_raw_gate(warehouse(syrk=rows), raise_on_failure=False)
    stats = next(s for s in result.suites if s.suite == "raw_grid__wg_syrk")
    assert not stats.success
    assert len(stats.drift) == 1 and "batch b2" in stats.drift[0] and "djsj" in stats.drift[0], stats.drift
    # dirt alone, at any share below "every value", is no drift
    rows = [dict(r, djsj="unknown") if i % 4 else r for i, r in enumerate(good_syrk)]
    result = run_raw_gate(warehouse(syrk=rows))
    assert result.success and result.quarantined == 30


def test_mart_gate_fails_on_duplicate_key_and_negative_limit(
    warehouse: MakeWarehouse, good_catalog: list
) -> None:
    rows = good_catalog[:-1]
    rows[1] = (rows[0][0], *rows[1][1:])  # duplicate item_code
    rows[2] = (rows[2][0], rows[2][1], -1, 10, 1, None)  # negative limit
    result = run_mart_gate(warehouse(catalog=rows), raise_on_failure=False)
    assert _failed_types(result, "mart_catalog__service_catalog") == [
        "expect_column_values_to_be_unique(column=item_code)",
        "expect_column_values_to_be_between(column=statutory_limit_days)",
    ]
    # no raw tables in this warehouse: the row-count reconciliation with raw cannot run, and fails
    assert not next(s for s in result.suites if s.suite == "mart_catalog__service_catalog__reconcile").success


def test_missing_table_fails_the_gate(warehouse: MakeWarehouse, good_syrk: list) -> None:
    result = run_mart_gate(warehouse(syrk=good_syrk), raise_on_failure=False)
    assert not result.success
    assert all(s.error for s in result.suites if s.suite.startswith("mart_catalog__service_catalog"))


def test_batches_sum_counts(warehouse: MakeWarehouse, good_syrk: list) -> None:
    """Bad rows spread over 4 read batches are all found, as if read at once."""
    rows = [dict(r, djsj="bad") if i < 4 else r for i, r in enumerate(good_syrk)]
    spec = raw_suite("grid", "wg_syrk", skip_values=("tsbq",), batch_rows=10)
    settings = warehouse(syrk=rows)
    ok = run_gate("raw", settings, specs=[spec])
    assert ok.suites[0].batches == 4 and ok.suites[0].rows == 40
    assert ok.suites[0].quarantined == 4


def test_frames_are_batch_rows_long_past_a_duckdb_row_group(warehouse: MakeWarehouse) -> None:
    """DuckDB's Arrow reader stops each record batch at a row group (122,880 rows): the gate still reads
    frames of batch_rows rows (one GX run each), every row once."""
    from expectations.run import _Reader

    with _Reader(warehouse()).open() as reader:
        sizes, total = [], 0
        for df in reader.frames("select range as x from range(300000)", 250_000):
            sizes.append(len(df))
            total += int(df["x"].sum())
        assert sizes == [250_000, 50_000]
        assert total == sum(range(300_000))
        assert [len(df) for df in reader.frames("select 1 as x where false", 10)] == [0]


def test_registry_is_consistent() -> None:
    from expectations.suites import MART_SUITES

    names = [s.name for s in RAW_SUITES + MART_SUITES]
    assert len(names) == len(set(names))
    assert {s.layer for s in RAW_SUITES} == {"raw"} and {s.layer for s in MART_SUITES} == {"mart"}


def test_a_suite_is_saved_again_only_when_its_definition_changed(
    warehouse: MakeWarehouse, good_catalog: list
) -> None:
    """A gate run saves a suite, its validation definition and checkpoint when the GX project does not hold them
    as the suite now defines them, and not otherwise (saving them unchanged on every run was most of the mart
    gate's time outside validation); a suite saved before still fails broken data."""
    import dataclasses

    from expectations.suites import MART_SUITES, check

    spec = next(s for s in MART_SUITES if s.name == "mart_catalog__service_catalog")
    settings = warehouse(catalog=good_catalog)
    gx = settings.gx_dir / "gx"
    saved = [
        gx / "expectations" / f"{spec.name}.json",
        gx / "validation_definitions" / f"{spec.name}.json",
        gx / "checkpoints" / f"mart_gate__{spec.name}.json",
        gx / "great_expectations.yml",
    ]

    def stamps() -> list[int]:
        return [p.stat().st_mtime_ns for p in saved]

    def results() -> int:
        return sum(1 for _ in (gx / "uncommitted" / "validations").rglob("*.json"))

    assert run_gate("mart", settings, specs=[spec]).success
    first, stored = stamps(), results()
    assert run_gate("mart", settings, specs=[spec]).success
    assert stamps() == first, "an unchanged suite was saved again"
    assert results() == stored + 1  # the run's validation result is stored as before

    # a changed check: the suite is saved again, and validates with the new check
    changed = dataclasses.replace(
        spec, checks=(*spec.checks, check("expect_column_values_to_not_be_null", column="max_visits"))
    )
    result = run_gate("mart", settings, specs=[changed], raise_on_failure=False)
    assert stamps()[0] != first[0] and stamps()[2] != first[2]
    assert "max_visits" in saved[0].read_text(encoding="utf-8")
    assert not result.success  # life items have no max_visits
    assert _failed_types(result, spec.name) == ["expect_column_values_to_not_be_null(column=max_visits)"]

    # the suite as saved before, on broken data: still fails
    assert run_gate("mart", settings, specs=[spec]).success
    again = stamps()
    rows = good_catalog[:-1]
    rows[1] = (rows[0][0], *rows[1][1:])  # duplicate item_code
    result = run_gate("mart", warehouse(catalog=rows), specs=[spec], raise_on_failure=False)
    assert stamps() == again
    assert _failed_types(result, spec.name) == ["expect_column_values_to_be_unique(column=item_code)"]
