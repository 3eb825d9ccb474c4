"""Issue 11: marts by calendar period and as of a date, on the session's shared `small_demo` city.

- approval_on_time_by_item_period: per item and month recomputed from raw with chinese_calendar (own Python,
  never the mart SQL); quarters and years add up the months; the type mart adds up the items.
- governance_by_street_period: its month rows equal governance_by_street_month; quarters and years add up.
- The as-of models rebuilt with the var `as_of` = D (as `yiwang build --as-of D` passes it) on a copy of the city
  (D a month end about four months before the data's end):
  closed periods show the same cases as the full build, and the same figures where they are final; nothing
  after D is there (periods, cases, events, complaints); the rolling windows end on D.
- The PostgreSQL build (`small_pg`) gives the same period figures as DuckDB.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from test_catalog_governance_points import _latest_cases, _nth_workday_after, _same_row, _workdays_between

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
Query = Callable[[str], list[tuple]]
MEASURES = (
    "cases, on_time_cases, overdue_cases, pending_cases, withdrawn_cases, no_deadline_cases, open_cases"
)


def _duck(path: Path) -> Iterator[Query]:
    import duckdb

    conn = duckdb.connect(str(path), read_only=True)
    try:
        yield lambda sql: conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def full(small_demo) -> Iterator[Query]:  # noqa: ANN001
    yield from _duck(small_demo.warehouse)


def _month_end_before(day: dt.date, months: int) -> dt.date:
    first = day.replace(day=1)
    for _ in range(months - 1):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return first - dt.timedelta(days=1)


@pytest.fixture(scope="module")
def as_of_build(small_demo, full: Query, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:  # noqa: ANN001
    """The models that read the as-of date, rebuilt with the dbt var `as_of` = D (what `yiwang build --as-of D`
    passes, tests/core/test_cli_as_of.py) on a copy of the small city's warehouse (the shared one stays
    untouched): everything downstream of the as-of date and of the timed cases, events, points and complaints,
    written straight to the public mart schemas; staging and identity are as the full build left them."""
    (latest,) = full("select distinct as_of_date from mart_catalog.service_catalog")[0]
    as_of = _month_end_before(latest, 4)
    home = tmp_path_factory.mktemp("as_of_build")
    for f in small_demo.home.glob("warehouse.duckdb*"):
        shutil.copy2(f, home / f.name)
    env = {
        **small_demo.env,
        "YIWANG_HOME": str(home),
        "YIWANG_DUCKDB_PATH": str(home / "warehouse.duckdb"),
        "DBT_TARGET_PATH": str(home / "dbt_target"),
        "DBT_LOG_PATH": str(home / "dbt_logs"),
    }
    as_of_models = [
        "int_as_of_date+",
        "int_approval_cases_timed+",
        "int_points_units+",
        "int_estates_complaints_counted+",
        "governance_events+",
    ]
    proc = subprocess.run(
        [
            str(BIN / "dbt"),
            "run",
            "--target",
            "duckdb",
            "--select",
            *as_of_models,
            "--vars",
            json.dumps({"as_of": as_of.isoformat()}),
            "--project-dir",
            str(REPO / "dbt_project"),
            "--profiles-dir",
            str(REPO / "dbt_project"),
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    assert proc.returncode == 0, f"dbt run --vars as_of failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    for q in _duck(home / "warehouse.duckdb"):
        yield as_of, q


# -- full build ------------------------------------------------------------------------------------------------
def test_period_on_time_matches_python_with_chinese_calendar(full: Query) -> None:
    (as_of,) = full("select distinct as_of_date from mart_catalog.approval_on_time_by_item_period")[0]
    snapshot = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    limits = {i.strip().upper(): int(c) for i, c in full("select sxbm, cnsx from raw_approval.items")}
    expected: dict[tuple, dict] = defaultdict(lambda: {"cases": 0, "on_time": 0, "overdue": 0, "days": []})
    for c in _latest_cases(full).values():
        if c["accepted"] is None or c["accepted"].date() > as_of or c["item"] not in limits:
            continue
        f = expected[(c["item"], c["accepted"].date().replace(day=1))]
        f["cases"] += 1
        if c["result"] == "撤回":
            continue
        done = c["done"] if c["done"] is not None and c["done"] < snapshot else None
        deadline = _nth_workday_after(c["accepted"].date(), limits[c["item"]])
        if done is not None:
            f["days"].append(_workdays_between(c["accepted"].date(), done.date()))
            f["on_time" if done.date() <= deadline else "overdue"] += 1
        elif deadline <= as_of:
            f["overdue"] += 1
    got = {
        (i, m): (n, on, over, rate, med)
        for i, m, n, on, over, rate, med in full(
            """select item_code, period_start, cases, on_time_cases, overdue_cases, on_time_rate,
                  median_handling_working_days
           from mart_catalog.approval_on_time_by_item_period where period_type = 'month' and cases > 0"""
        )
    }
    assert set(got) == set(expected)
    for key, f in expected.items():
        n, on, over, rate, med = got[key]
        assert (n, on, over) == (f["cases"], f["on_time"], f["overdue"]), key
        assert rate == (pytest.approx(on / (on + over)) if on + over else None), key
        assert med == (pytest.approx(statistics.median(f["days"])) if f["days"] else None), key


def test_quarters_and_years_add_up_the_months(full: Query) -> None:
    sums = ", ".join(f"sum({m})" for m in MEASURES.split(", "))
    for coarse in ("quarter", "year"):
        a = full(f"""select item_code, period_start, {MEASURES} from mart_catalog.approval_on_time_by_item_period
                     where period_type = '{coarse}' and cases > 0 order by 1, 2""")
        b = full(f"""select item_code, cast(date_trunc('{coarse}', period_start) as date) as p, {sums}
                     from mart_catalog.approval_on_time_by_item_period where period_type = 'month'
                     group by 1, 2 having sum(cases) > 0 order by 1, 2""")
        assert a == b, coarse
    per_type = full(f"""select period_type, period_start, item_type, {sums}
                        from mart_catalog.approval_on_time_by_item_period group by 1, 2, 3 order by 1, 2, 3""")
    typed = full(f"""select period_type, period_start, item_type, {MEASURES}
                     from mart_catalog.approval_on_time_by_item_type_period order by 1, 2, 3""")
    assert per_type == typed
    (n_items,) = full("select count(distinct upper(trim(sxbm))) from raw_approval.items")[0]
    assert (
        full("select count(distinct item_code) from mart_catalog.approval_on_time_by_item_period")[0][0]
        == n_items
    )


def test_governance_period_months_equal_the_month_mart(full: Query) -> None:
    cols = "street_code, events, on_time_events, overdue_events, on_time_rate, satisfied_events, returns"
    a = full(f"""select period_start, {cols}, events_prev_period, on_time_rate_prev_period
                 from mart_governance.governance_by_street_period where period_type = 'month' order by 1, 2""")
    b = full(f"""select month_start, {cols}, events_prev_month, on_time_rate_prev_month
                 from mart_governance.governance_by_street_month order by 1, 2""")
    assert a == b and a
    for coarse in ("quarter", "year"):
        rolled = full(f"""select cast(date_trunc('{coarse}', month_start) as date), street_code, sum(events),
                                 sum(on_time_events), sum(overdue_events)
                          from mart_governance.governance_by_street_month group by 1, 2 order by 1, 2""")
        got = full(f"""select period_start, street_code, events, on_time_events, overdue_events
                       from mart_governance.governance_by_street_period where period_type = '{coarse}'
                       order by 1, 2""")
        assert got == rolled, coarse


# -- as of a past date -----------------------------------------------------------------------------------------
def test_as_of_build_keeps_closed_periods_and_drops_later_records(full: Query, as_of_build: tuple) -> None:
    as_of, past = as_of_build
    assert past("select distinct as_of_date from mart_catalog.service_catalog") == [(as_of,)]
    assert past("select distinct as_of_date from mart_catalog.approval_on_time_by_item_period") == [(as_of,)]
    assert past("select max(period_start) from mart_catalog.approval_on_time_by_item_period")[0][0] <= as_of
    key = "period_type, period_start, item_code"
    then = {
        r[:3]: r[3:]
        for r in past(f"""select {key}, {MEASURES}, on_time_rate, median_handling_working_days,
                                                   figures_final
                                            from mart_catalog.approval_on_time_by_item_period
                                            where is_period_closed""")
    }
    now = {
        r[:3]: r[3:]
        for r in full(f"""select {key}, {MEASURES}, on_time_rate, median_handling_working_days
                                          from mart_catalog.approval_on_time_by_item_period""")
    }
    assert then and sum(1 for r in then.values() if r[-1]) > 0
    for k, r in then.items():
        assert r[0] == now[k][0], k  # the same cases were accepted in a closed period
        if r[-1]:  # final: nothing open, so the full build must show exactly these figures
            assert _same_row(r[:-1], now[k]), (k, r, now[k])
    # cases after the as-of date are not there: the past build's years hold the full build's months up to D
    (past_cases,) = past(
        "select sum(cases) from mart_catalog.approval_on_time_by_item_period where period_type = 'year'"
    )[0]
    (full_cases,) = full(f"""select sum(cases) from mart_catalog.approval_on_time_by_item_period
                             where period_type = 'month' and period_start <= date '{as_of}'""")[0]
    assert past_cases == full_cases
    (raw_cases,) = full("select count(distinct trim(bjbh)) from raw_approval.cases where slsj is not null")[0]
    assert past_cases < raw_cases


def test_as_of_build_governance_and_property(full: Query, as_of_build: tuple) -> None:
    as_of, past = as_of_build
    (events,) = past("select count(*) from mart_governance.governance_events")[0]
    (full_events,) = full(
        f"select count(*) from mart_governance.governance_events where reported_on <= '{as_of}'"
    )[0]
    assert events == full_events
    assert past("select max(reported_on) from mart_governance.governance_events")[0][0] <= as_of
    cols = "period_type, period_start, street_code"
    then = {
        r[:3]: r[3:]
        for r in past(f"""select {cols}, events, open_events, on_time_events, overdue_events
                                            from mart_governance.governance_by_street_period
                                            where is_period_closed""")
    }
    now = {
        r[:3]: r[3:]
        for r in full(f"""select {cols}, events, open_events, on_time_events, overdue_events
                                          from mart_governance.governance_by_street_period""")
    }
    assert then
    for k, r in then.items():
        assert r[0] == now[k][0], k
        if r[1] == 0:  # nothing open as of D: closures cannot change later
            assert r == now[k], k
    # property: complaints after D are not counted; the closed years are as in the full build
    city_then = dict(
        (y, n) for y, n in past("select year, complaints from mart_property.property_city_yearly")
    )
    city_now = dict(
        (y, n) for y, n in full("select year, complaints from mart_property.property_city_yearly")
    )
    assert max(city_then) == as_of.year
    for year, n in city_then.items():
        if year < as_of.year:
            assert n == city_now[year], year
    (known,) = full(f"""select count(distinct complaint_id) from staging.stg_property__complaints
                        where accepted_at >= timestamp '{as_of.year}-01-01'
                          and accepted_at < cast(date '{as_of}' + interval 1 day as timestamp)""")[0]
    assert city_then[as_of.year] == known


# -- PostgreSQL ------------------------------------------------------------------------------------------------
def test_postgres_period_marts_match_duckdb(full: Query, small_pg) -> None:  # noqa: ANN001
    import psycopg

    env = small_pg.env
    with psycopg.connect(
        host=env["YIWANG_PG_HOST"],
        port=int(env["YIWANG_PG_PORT"]),
        user=env["YIWANG_PG_USER"],
        password=env.get("YIWANG_PG_PASSWORD") or None,
        dbname=env["YIWANG_PG_DBNAME"],
    ) as conn:
        pg: Query = lambda sql: conn.execute(sql).fetchall()  # noqa: E731
        checks = {
            "mart_catalog.approval_on_time_by_item_period": f"period_type, period_start, item_code, period_end, {MEASURES}, on_time_rate, "
            "median_handling_working_days, as_of_date, is_period_closed, figures_final",
            "mart_catalog.approval_on_time_by_item_type_period": f"period_type, period_start, item_type, {MEASURES}, on_time_rate, figures_final",
            "mart_governance.governance_by_street_period": "period_type, period_start, street_code, period_end, events, on_time_rate, events_prev_period, "
            "on_time_rate_prev_period, is_period_closed",
            "mart_property.property_estate_yearly": "estate_key, year, households, complaints, has_joint_mechanism, estate_file_month",
        }
        for table, cols in checks.items():
            order = "order by 1, 2, 3 nulls first"
            a, b = full(f"select {cols} from {table} {order}"), pg(f"select {cols} from {table} {order}")
            assert len(a) == len(b) and a, table
            for ra, rb in zip(a, b, strict=True):
                assert _same_row(ra, rb), (table, ra, rb)
