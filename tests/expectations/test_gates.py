"""The GX gates against a small DuckDB warehouse: good data passes, a broken key / wrong row count fails."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from expectations.run import GateFailed, run_gate, run_mart_gate, run_raw_gate
from expectations.suites import RAW_SUITES, SuiteSpec, raw_suite
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


def test_raw_gate_fails_on_broken_key_and_codes(warehouse: MakeWarehouse, good_syrk: list) -> None:
    rows = [dict(r) for r in good_syrk]
    rows[0]["rkid"] = None  # the key
    for r in rows[:10]:
        r["wgbm"] = "3网格"  # 25 % bad grid codes: beyond mostly=0.99
    rows[1]["jzlx"] = "暂住"  # one value outside the contract's list: 2.5 % > 1 %
    rows[2]["sfsc"] = "Y"
    settings = warehouse(syrk=rows)
    with pytest.raises(GateFailed) as exc:
        run_raw_gate(settings)
    result = exc.value.result
    assert not result.success
    failed = _failed_types(result, "raw_grid__wg_syrk")
    assert "expect_column_values_to_not_be_null(column=rkid)" in failed
    assert "expect_column_values_to_match_regex(column=wgbm)" in failed
    assert "expect_column_values_to_be_in_set(column=jzlx)" in failed
    assert "expect_column_values_to_be_in_set(column=sfsc)" in failed
    assert "expect_column_values_to_match_regex(column=sfzh)" not in failed  # dirt within mostly


def test_sfzh_dirt_beyond_threshold_fails(warehouse: MakeWarehouse, good_syrk: list) -> None:
    rows = [dict(r, sfzh="4.20103E+17") if i % 2 else r for i, r in enumerate(good_syrk)]
    result = run_raw_gate(warehouse(syrk=rows), raise_on_failure=False)
    assert _failed_types(result, "raw_grid__wg_syrk") == ["expect_column_values_to_match_regex(column=sfzh)"]


def test_mart_gate_fails_on_duplicate_key_and_negative_limit(warehouse: MakeWarehouse, good_catalog: list) -> None:
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


def test_batches_sum_counts_before_mostly(warehouse: MakeWarehouse, good_syrk: list) -> None:
    """10 % bad sfzh spread over 4 batches: each batch is judged on the totals, as if one."""
    rows = [dict(r, sfzh="bad") if i < 4 else r for i, r in enumerate(good_syrk)]
    spec = raw_suite("grid", "wg_syrk", skip_values=("tsbq",), batch_rows=10)  # sfzh check from the contract
    settings = warehouse(syrk=rows)
    ok = run_gate("raw", settings, specs=[spec])
    assert ok.suites[0].batches == 4 and ok.suites[0].rows == 40
    strict = SuiteSpec(spec.name, "raw", spec.schema, spec.table,
                       tuple(c if c.column != "sfzh" else type(c)(c.type, {**c.kwargs, "mostly": 0.95})
                             for c in spec.checks), batch_rows=10)
    bad = run_gate("raw", settings, specs=[strict], raise_on_failure=False)
    assert _failed_types(bad, spec.name) == ["expect_column_values_to_match_regex(column=sfzh)"]


def test_registry_is_consistent() -> None:
    from expectations.suites import MART_SUITES

    names = [s.name for s in RAW_SUITES + MART_SUITES]
    assert len(names) == len(set(names))
    assert {s.layer for s in RAW_SUITES} == {"raw"} and {s.layer for s in MART_SUITES} == {"mart"}
