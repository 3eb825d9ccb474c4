"""Each governance metric recomputed INDEPENDENTLY from the raw landing tables (bench/reconcile.py, the one
owner of the recomputation; bench/generalise.py prints the same comparison per simulator variant) and compared
with its mart (issue 11, "Grain and reconciliation").

The city is the session's shared `small` demo (tests/conftest.py `small_demo`). bench/reconcile.py says how each
figure is recomputed from `raw_<system>.<table>` only (never staging, intermediate models or dbt macros); here
each comparison is asserted: counts exactly, rates within 0.5 points (0.005 as a fraction, 0.5 for a rate per
100 households); where a mart resolves identity (an event's grid, a member's home community) the figures the
raw fields place unambiguously agree exactly and the rest bound the difference.
Reconciliations already in tests/marts_catalog_governance/test_catalog_governance_points.py (catalog totals and the five busiest items, governance
totals, service points and closed-event units) and tests/marts_property_party/test_property_party_reconcile.py (property and
registration totals, certified/other closed and on-time totals) are not repeated here.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.reconcile import (  # noqa: E402
    PER100_TOL,
    RATE_TOL,
    TOLERANCE_POINTS,
    approval_on_time_by_item_type,
    check_in_by_community,
    deviations,
    event_on_time_by_certified_worker,
    event_on_time_by_grid,
    points_units,
    property_independent,
    property_marts,
    rate,
)


def assert_close(got: float | None, want: float | None, tol: float, what: object) -> None:
    if want is None or got is None:
        assert got is None and want is None, (what, got, want)
    else:
        assert abs(float(got) - want) <= tol, (what, got, want)


def assert_placed_exactly(got: dict, want: dict, unplaced: dict, what: str) -> set:
    """got / want: (grid or None, period) -> tuple of counts; unplaced: period -> the same counts over the events
    placed from raw in no grid. Each grid's mart counts are at least the raw ones and exceed them only by unplaced
    events; per period the excesses (the mart's NULL row included) add up to the unplaced counts exactly.
    Returns the keys whose counts agree exactly."""
    periods = {p for _, p in got} | {p for _, p in want}
    exact = set()
    for period in periods:
        excess = None
        for key in {k for k in got if k[1] == period} | {k for k in want if k[1] == period}:
            g = got.get(key)
            w = want.get(key) or tuple(0 for _ in (g or unplaced.get(period, ())))
            g = g or tuple(0 for _ in w)
            diff = tuple(a - b for a, b in zip(g, w, strict=True))
            assert all(d >= 0 for d in diff), (what, key, g, w)
            excess = diff if excess is None else tuple(a + b for a, b in zip(excess, diff, strict=True))
            if not any(diff):
                exact.add(key)
        assert excess == unplaced.get(period, tuple(0 for _ in excess)), (
            what,
            period,
            excess,
            unplaced.get(period),
        )
    return exact


# -- 1. event on-time rate by grid (mart_governance) ---------------------------------------------------------
def test_event_on_time_rate_by_grid(wh) -> None:
    """On-time rate per grid and month reported = on time / (on time + overdue) (NULL when none is decided). Grids
    from raw as in bench.reconcile.grid_events: exact where the mart's counts equal the raw ones, bounded by the
    unplaced events elsewhere (in the small city about 4 % of the events state no grid)."""
    f = event_on_time_by_grid(wh)
    ev, want, unplaced, got, rates = f["events"], f["want"], f["unplaced"], f["got"], f["rates"]
    assert len({g for g, _ in want}) > 50 and len(ev[~ev["placed"]]) <= len(ev) / 10
    exact = assert_placed_exactly(got, want, unplaced, "governance_by_grid_month")
    assert len(exact) >= len(want) - len(ev[~ev["placed"]])
    for key in exact & set(want):
        _, on_time, overdue = want[key]
        assert_close(rates[key], rate(on_time, on_time + overdue), RATE_TOL, key)


# -- 2. on-time closure, grids with a certified full-time grid worker vs the others (mart_demands) ----------------
def test_event_on_time_by_certified_grid_worker(wh) -> None:
    """demands_grid_timeliness / demands_timeliness_comparison (bench.reconcile.event_on_time_by_certified_worker).
    Grids from raw (exact where the mart agrees, bounded by the unplaced events elsewhere); a year's certified /
    other figures may take at most the unplaced events of that year on top of the raw ones, and the rates are the
    mart's own counts' ratios."""
    f = event_on_time_by_certified_worker(wh)
    want, unplaced, certified, mart = f["want"], f["unplaced"], f["certified"], f["mart"]
    assert_placed_exactly(f["got"], want, unplaced, "demands_grid_timeliness")
    for g, y, *_, cert in f["rows"]:
        if g is not None:
            assert bool(cert) == (g in certified), (g, y)
    assert sorted(mart) == sorted({y for _, y in want})
    for year, m in mart.items():
        _, free_closed, free_on_time = unplaced.get(year, (0, 0, 0))
        for flag, closed, on_time, mart_rate in ((True, m[0], m[1], m[4]), (False, m[2], m[3], m[5])):
            c, o = f["raw"][year][flag]
            assert (
                0 <= on_time - o <= free_on_time
                and 0 <= (closed - on_time) - (c - o) <= free_closed - free_on_time
            ), (year, flag, (closed, on_time), (c, o))
            assert_close(mart_rate, rate(on_time, closed), RATE_TOL, (year, flag))
            if not free_closed:
                assert_close(mart_rate, rate(o, c), RATE_TOL, (year, flag, "raw"))


# -- 3. approval on time by item type, in working days (mart_catalog.service_catalog) ---------------------------
@pytest.mark.parametrize("days", [30, 365])
def test_approval_on_time_by_item_type_in_working_days(wh, days: int) -> None:
    """Per 事项类型 (bench.reconcile.approval_on_time_by_item_type): counts exactly, the pooled rate within 0.5
    points."""
    f = approval_on_time_by_item_type(wh, days)
    want, got = f["want"], f["got"]
    assert sum(a + b for a, b in want.values()) > 0
    assert {t: v for t, v in got.items() if v != (0, 0)} == want
    for t, (on_time, overdue) in want.items():
        assert_close(f["mart_rates"][t], rate(on_time, on_time + overdue), RATE_TOL, t)


# -- 4. complaints per 100 households and YoY, by joint mechanism (mart_property) --------------------------------
def test_property_complaints_per_100_households_and_yoy_by_mechanism(wh) -> None:
    """Complaints per estate and year per 100 households, groups by joint mechanism (pooled and mean of estate
    rates), the city, and YoY (bench.reconcile.property_independent): counts exactly, rates within 0.5 points."""
    estates, groups, city = property_independent(wh)
    got, mart, mart_city = property_marts(wh)
    assert set(got) == set(estates)
    for key, e in estates.items():
        c, h, r, yoy, joint = got[key]
        assert (c, h, joint) == (e["complaints"], e["households"], e["joint"]), key
        assert_close(r, e["rate"], PER100_TOL, key)
        assert_close(yoy, e["yoy"], RATE_TOL, (key, "yoy"))

    assert sorted(mart) == sorted(groups)
    for year, g in groups.items():
        w, o = g["with"], g["without"]
        m = mart[year]
        assert m[:6] == (
            w["estates"],
            o["estates"],
            w["complaints"],
            o["complaints"],
            w["households"],
            o["households"],
        ), year
        for got_v, want_v, tol, what in (
            (m[6], w["pooled"], PER100_TOL, "pooled with"),
            (m[7], o["pooled"], PER100_TOL, "pooled without"),
            (m[8], w["mean"], PER100_TOL, "mean with"),
            (m[9], o["mean"], PER100_TOL, "mean without"),
            (m[10], w["yoy"], RATE_TOL, "yoy with"),
            (m[11], o["yoy"], RATE_TOL, "yoy without"),
        ):
            assert_close(got_v, want_v, tol, (year, what))

    assert sorted(mart_city) == sorted(city)
    for year, c in city.items():
        assert mart_city[year][:2] == (c["complaints"], c["households"]), year
        assert_close(mart_city[year][2], c["rate"], PER100_TOL, (year, "city rate"))
        assert_close(mart_city[year][3], c["yoy"], RATE_TOL, (year, "city yoy"))


# -- 6. points (mart_points) -------------------------------------------------------------------------------------
def test_points_every_metric_total_and_year_to_date(wh) -> None:
    """积分量化 (bench.reconcile.points_units), then each month's total and the calendar-year running total.
    Events are placed from raw as in grid_events: a worker's mart units may exceed the raw ones only by events
    placed from raw in no grid (at most their number per metric and month, in all); units, points, totals and
    points_ytd must agree exactly wherever the units do. (tests/marts_catalog_governance checks the units of two
    metrics.)"""
    f = points_units(wh)
    want, free, got, mart = f["want"], f["free"], f["got"], f["mart"]
    assert {k[3] for k in want} == {
        "events_closed",
        "events_closed_on_time",
        "events_satisfied",
        "events_overdue",
        "patrol_events",
        "service_points",
    }
    excess: dict = defaultdict(float)
    agree = set()
    for key in set(got) | set(want):
        g, w = got.get(key, (0.0, None, None)), want.get(key, (0.0, None, None))
        assert g[0] >= w[0], (key, g, w)
        excess[(key[2], key[3])] += g[0] - w[0]
        if g[0] == w[0]:
            agree.add(key)
            assert g[2] == w[2] and g[1] == pytest.approx(w[1], abs=1e-9), (key, g, w)
    for mm, x in excess.items():
        assert x <= free.get(mm, 0), (mm, x, free.get(mm, 0))
    assert len(agree) >= len(want) - sum(free.values())

    def month_key(k: tuple) -> tuple:
        return k[:3]

    agreeing_months = {month_key(k) for k in set(got) | set(want)} - {
        month_key(k) for k in (set(got) | set(want)) - agree
    }
    totals: dict = defaultdict(float)
    for key, (_, p, _) in want.items():
        totals[month_key(key)] += p
    assert set(mart) == {month_key(k) for k in got}
    running: dict = defaultdict(float)
    subjects_agree = {k[:2] for k in agreeing_months} - {k[:2] for k in set(mart) - agreeing_months}
    for kind, subject, month in sorted(totals):
        running[(kind, subject, month.year)] += totals[(kind, subject, month)]
        if (kind, subject, month) in agreeing_months:
            assert mart[(kind, subject, month)][0] == pytest.approx(totals[(kind, subject, month)], abs=1e-9)
        if (kind, subject) in subjects_agree:
            assert mart[(kind, subject, month)][1] == pytest.approx(
                running[(kind, subject, month.year)], abs=1e-9
            )
    assert len(agreeing_months) >= len(totals) - sum(free.values())


# -- 5. check-in rate of in-service party members by home community (mart_party) ------------------------------
def test_party_check_in_rate_by_community(wh) -> None:
    """在职党员回常住地报到率 (bench.reconcile.check_in_by_community). A member whose home raw cannot say
    unambiguously is left out of the comparison: every community's mart count (and the unknown row's) may exceed
    the independent one by at most the number left out (at most a tenth of the members), and counts and rates
    must agree exactly on the communities where the counts agree."""
    f = check_in_by_community(wh)
    want, left_out, got = f["want"], f["left_out"], f["got"]
    assert sum(n for n, _ in want.values()) > 20 and left_out <= f["in_service"] / 10
    assert sum(n for n, _, _ in got.values()) == sum(n for n, _ in want.values()) + left_out
    agreeing = 0
    for code in set(got) | set(want):
        n, k, r = got.get(code, (0, 0, None))
        wn, wk = want.get(code, (0, 0))
        assert 0 <= n - wn <= left_out and 0 <= k - wk <= left_out, (code, (n, k), (wn, wk))
        if n == wn:
            agreeing += 1
            assert k == wk, code
            assert_close(r, rate(wk, wn), RATE_TOL, code)
    assert agreeing >= len(want) - left_out


# -- the bench's summary agrees with the assertions above --------------------------------------------------------
def test_every_metric_within_half_a_point(wh) -> None:
    """bench.reconcile.deviations (what bench/generalise.py prints per variant): every metric compared on some
    figures and its largest deviation within 0.5 points on the demo city."""
    devs = deviations(wh)
    assert len(devs) == 8
    for d in devs:
        assert d.compared > 0 and d.within, (d, TOLERANCE_POINTS)
