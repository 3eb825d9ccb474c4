"""Each governance metric recomputed INDEPENDENTLY from the raw landing tables and compared with its mart
(issue 11, "Grain and reconciliation").

The city is the session's shared `small` demo (tests/conftest.py `small_demo`). Every figure here is computed
with plain pandas / Python over `raw_<system>.<table>` only — never staging, intermediate models or dbt macros —
after the minimum honest cleaning the contract and docs/conventions.md prescribe:

- raw is append-only history: one row per key, the latest cursor value winning, then the latest `_loaded_at`
  (then, for files, the greater `_source_file`) — conventions "Raw landing", "Staging picks the latest version
  per key (cursor, then _loaded_at)";
- rows the raw gate rejected (`ops.raw_rejects`, by `_row_hash`) never reach a mart — conventions, ops.raw_rejects;
- texts are trimmed; timestamps without an offset are Asia/Shanghai local time, with an offset shifted to +08:00
  (contract header, "time"); dates come in the formats the contract's `dirt:` lists;
- where a mart resolves identity (an event's grid, a member's home community) the test resolves it from the raw
  fields directly (the stated grid code the grid system knows; the home address's estate, placed by the grid
  system's residents) and compares exactly on the records that places unambiguously, bounding the rest.

Tolerances: counts exactly, rates within 0.5 points (0.005 as a fraction, 0.5 for a rate per 100 households).
Reconciliations already in tests/marts_catalog_governance/test_catalog_governance_points.py (catalog totals and the five busiest items, governance
totals, service points and closed-event units) and tests/marts_property_party/test_property_party_reconcile.py (property and
registration totals, certified/other closed and on-time totals) are not repeated here.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
RULES_CSV = REPO / "dbt_project" / "seeds" / "points" / "points_rules.csv"
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
RATE_TOL = 0.005  # 0.5 percentage points, rates stored as fractions
PER100_TOL = 0.5  # 0.5 points of a rate per 100 households
TRUE_WORDS = {"true", "t", "1", "y", "yes", "是", "有", "已成立", "已建立"}
FALSE_WORDS = {"false", "f", "0", "n", "no", "否", "无", "未成立", "未建立"}
_HALF = str.maketrans("０１２３４５６７８９－／：．　", "0123456789-/:. ")


# -- minimal cleaning of raw text --------------------------------------------------------------------------
def text(v: object) -> str | None:
    if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA:
        return None
    s = str(v).strip()
    return s or None


def local_ts(v: object) -> dt.datetime | None:
    """Raw date/time text -> naive Asia/Shanghai datetime (ISO with or without offset, '/' separators, 年月日,
    compact YYYYMMDD, Excel serial day numbers)."""
    s = text(v)
    if s is None:
        return None
    s = s.translate(_HALF)
    try:
        t = dt.datetime.fromisoformat(s.replace("/", "-"))
    except ValueError:
        t = None
    if t is None:
        m = re.match(
            r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})[日号]?(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?$", s
        )
        if m:
            y, mo, d, hh, mi, ss = (int(x) if x else 0 for x in m.groups())
            t = dt.datetime(y, mo, d, hh, mi, ss)
        elif re.fullmatch(r"\d{8}", s):
            t = dt.datetime.strptime(s, "%Y%m%d")
        elif re.fullmatch(r"\d{4,5}(\.\d+)?", s) and 61 <= float(s) <= 73051:
            t = dt.datetime(1899, 12, 30) + dt.timedelta(days=float(s))
        else:
            return None
    return t.astimezone(SHANGHAI).replace(tzinfo=None) if t.tzinfo else t


def local_date(v: object) -> dt.date | None:
    t = local_ts(v)
    return t.date() if t else None


def to_int(v: object) -> int | None:
    s = text(v)
    if s is None:
        return None
    s = s.translate(_HALF)
    return int(float(s)) if re.fullmatch(r"-?\d{1,9}(\.0+)?", s) else None


def to_bool(v: object) -> bool | None:
    s = (text(v) or "").lower()
    return True if s in TRUE_WORDS else False if s in FALSE_WORDS else None


def satisfaction(v: object) -> str | None:
    s = text(v)
    return {"5": "满意", "3": "基本满意", "1": "不满意"}.get(s, s) if s else None


def month_start(d: dt.date | dt.datetime) -> dt.date:
    return dt.date(d.year, d.month, 1)


# -- reading raw -----------------------------------------------------------------------------------------
def raw(wh, system: str, table: str) -> pd.DataFrame:
    """Every landed version of raw_<system>.<table> the raw gate did not reject, as text."""
    has_rejects = wh.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'ops' and table_name = 'raw_rejects'"
    ).fetchone()[0]
    rejected = (
        (
            f"where r._row_hash not in (select x._row_hash from ops.raw_rejects as x "
            f"where x.system = '{system}' and x.table_name = '{table}')"
        )
        if has_rejects
        else ""
    )
    return wh.execute(f"select * from raw_{system}.{table} as r {rejected}").df()


def latest(
    df: pd.DataFrame, key: str | list[str] | Callable[[pd.DataFrame], pd.Series], cursor: str | None = None
) -> pd.DataFrame:
    """One row per key (trimmed; rows without a key dropped): the latest cursor, then the latest _loaded_at,
    then the greater _source_file wins."""
    df = df.copy()
    if callable(key):
        df["_k"] = key(df)
    else:
        keys = [key] if isinstance(key, str) else key
        df["_k"] = ["|".join(text(v) or "" for v in row) for row in df[keys].itertuples(index=False)]
        df.loc[df[keys].map(text).isna().all(axis=1), "_k"] = None
    df = df[df["_k"].notna()]
    df["_cursor"] = pd.to_datetime(df[cursor].map(local_ts)) if cursor else pd.NaT
    order = ["_cursor", "_loaded_at"] + (["_source_file"] if "_source_file" in df.columns else [])
    df = df.sort_values(order, na_position="first", kind="stable")
    return df.groupby("_k", sort=False).tail(1).set_index("_k", drop=False)


def mart_as_of(wh) -> dt.date:
    """The as-of date the catalog / governance / points marts were computed for (a parameter, not a figure)."""
    (as_of,) = wh.execute("select distinct as_of_date from mart_catalog.service_catalog").fetchone()
    return as_of


def rate(num: float, den: float) -> float | None:
    return num / den if den else None


def assert_close(got: float | None, want: float | None, tol: float, what: object) -> None:
    if want is None or got is None:
        assert got is None and want is None, (what, got, want)
    else:
        assert abs(float(got) - want) <= tol, (what, got, want)


# -- grid events as of the as-of date ------------------------------------------------------------------
def grid_events(wh, as_of: dt.date | None) -> pd.DataFrame:
    """wg_sj, latest version per sjbh. `grid_code` = the stated wgbm when the grid system knows that grid (wg_grid,
    latest version), else None with `placed` False. The marts place an event where the identity layer resolves it —
    the stated code when the grid system knows it, else the event's coordinates or address (docs/identity.md) — so
    the events placed from raw are compared exactly and the others (no or an unknown stated code) bound the
    difference: a grid's mart figure may exceed the raw one only by unplaced events, and all the excesses together
    (plus the mart's unplaced row) add up to exactly the unplaced events.
    With `as_of`, the on-time status as of the end of that day (docs/marts.md
    "Governance"): closed at or before clsx -> on_time; closed later, or open with clsx before the snapshot ->
    overdue; open within the deadline -> open; events reported after the as-of day are left out; a closure after it
    counts as not yet closed."""
    ev = latest(raw(wh, "grid", "wg_sj"), "sjbh", "update_time")
    known = set(latest(raw(wh, "grid", "wg_grid"), "wgbm", "update_time").index)
    out = pd.DataFrame(
        {
            "event_id": ev["sjbh"].map(text),
            "stated": ev["wgbm"].map(text),
            "source": ev["sjly"].map(text),
            "reported": ev["sbsj"].map(local_ts),
            "deadline": ev["clsx"].map(local_ts),
            "closed": ev["jasj"].map(local_ts),
            "satisfaction": ev["myd"].map(satisfaction),
        }
    )
    for col in ("reported", "deadline", "closed"):  # None, not NaT, for the checks below
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    out["placed"] = out["stated"].isin(known)
    out["grid_code"] = out["stated"].where(out["placed"], None)
    out = out[out["reported"].map(lambda t: t is not None)].copy()
    if as_of is None:
        return out
    snapshot = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    out = out[out["reported"].map(lambda t: t < snapshot)].copy()
    closed = out["closed"].map(lambda t: t if t is not None and t < snapshot else None)
    out["closed"] = closed.astype(object).where(closed.notna(), None)

    def status(r) -> str | None:  # noqa: ANN001
        if r.closed is not None:
            return None if r.deadline is None else "on_time" if r.closed <= r.deadline else "overdue"
        if r.deadline is None:
            return None
        return "overdue" if r.deadline < snapshot else "open"

    out["status"] = [status(r) for r in out.itertuples()]
    return out


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
    from raw as in grid_events: exact where the mart's counts equal the raw ones, bounded by the unplaced events
    elsewhere (in the small city about 4 % of the events state no grid)."""
    ev = grid_events(wh, mart_as_of(wh))
    ev["month"] = ev["reported"].map(month_start)

    def counts(x: pd.DataFrame) -> tuple[int, int, int]:
        return len(x), int((x["status"] == "on_time").sum()), int((x["status"] == "overdue").sum())

    placed = ev[ev["placed"]]
    want = {(g, m): counts(x) for (g, m), x in placed.groupby(["grid_code", "month"])}
    unplaced = {m: counts(x) for m, x in ev[~ev["placed"]].groupby("month")}
    rows = wh.execute(
        "select grid_code, month_start, events, on_time_events, overdue_events, on_time_rate "
        "from mart_governance.governance_by_grid_month"
    ).fetchall()
    got = {(g, m): (n, a, b) for g, m, n, a, b, _ in rows}
    rates = {(g, m): r for g, m, *_, r in rows}
    assert len({g for g, _ in want}) > 50 and len(ev[~ev["placed"]]) <= len(ev) / 10
    exact = assert_placed_exactly(got, want, unplaced, "governance_by_grid_month")
    assert len(exact) >= len(want) - len(ev[~ev["placed"]])
    for key in exact & set(want):
        _, on_time, overdue = want[key]
        assert_close(rates[key], rate(on_time, on_time + overdue), RATE_TOL, key)


# -- 2. on-time closure, grids with a certified full-time grid worker vs the others (mart_demands) ----------------
def test_event_on_time_by_certified_grid_worker(wh) -> None:
    """demands_grid_timeliness / demands_timeliness_comparison: per grid and year reported, events, closed events
    and those closed by the deadline (jasj <= clsx); a grid is 'certified' when one of its grid workers (wg_wgy,
    latest version) is 在岗, 专职 and holds the social-work certificate (sgzs). Rates pooled over closed events.
    Grids from raw as in grid_events (exact where the mart agrees, bounded by the unplaced events elsewhere); a
    year's certified / other figures may take at most the unplaced events of that year on top of the raw ones, and
    the rates are the mart's own counts' ratios."""
    ev = grid_events(wh, None)
    ev["year"] = ev["reported"].map(lambda t: t.year)
    ev["is_closed"] = ev["closed"].map(lambda t: t is not None)
    ev["on_time"] = [
        c is not None and d is not None and c <= d for c, d in zip(ev["closed"], ev["deadline"], strict=True)
    ]
    workers = latest(raw(wh, "grid", "wg_wgy"), "wgy_id", "update_time")
    certified = {
        text(g)
        for g, zt, lx, cert in workers[["wgbm", "zt", "rylx", "sgzs"]].itertuples(index=False)
        if text(g) and text(zt) == "在岗" and text(lx) == "专职" and to_bool(cert)
    }

    def counts(x: pd.DataFrame) -> tuple[int, int, int]:
        return len(x), int(x["is_closed"].sum()), int(x["on_time"].sum())

    want = {(g, y): counts(x) for (g, y), x in ev[ev["placed"]].groupby(["grid_code", "year"])}
    unplaced = {y: counts(x) for y, x in ev[~ev["placed"]].groupby("year")}
    rows = wh.execute(
        "select grid_code, year, events, events_closed, closed_on_time, has_certified_fulltime_worker "
        "from mart_demands.demands_grid_timeliness"
    ).fetchall()
    got = {(g, y): (e, c, o) for g, y, e, c, o, _ in rows}
    assert_placed_exactly(got, want, unplaced, "demands_grid_timeliness")
    for g, y, *_, cert in rows:
        if g is not None:
            assert bool(cert) == (g in certified), (g, y)
    mart = {
        r[0]: r[1:]
        for r in wh.execute(
            "select year, closed_certified, on_time_certified, closed_other, on_time_other, on_time_rate_certified, "
            "on_time_rate_other from mart_demands.demands_timeliness_comparison"
        ).fetchall()
    }
    assert sorted(mart) == sorted({y for _, y in want})
    for year, m in mart.items():
        side = {
            flag: [v for (g, y), v in want.items() if y == year and (g in certified) is flag]
            for flag in (True, False)
        }
        _, free_closed, free_on_time = unplaced.get(year, (0, 0, 0))
        for flag, closed, on_time, mart_rate in ((True, m[0], m[1], m[4]), (False, m[2], m[3], m[5])):
            c, o = sum(v[1] for v in side[flag]), sum(v[2] for v in side[flag])
            assert (
                0 <= on_time - o <= free_on_time
                and 0 <= (closed - on_time) - (c - o) <= free_closed - free_on_time
            ), (year, flag, (closed, on_time), (c, o))
            assert_close(mart_rate, rate(on_time, closed), RATE_TOL, (year, flag))
            if not free_closed:
                assert_close(mart_rate, rate(o, c), RATE_TOL, (year, flag, "raw"))


# -- 3. approval on time by item type, in working days (mart_catalog.service_catalog) ---------------------------
def _is_workday(day: dt.date) -> bool | None:
    import chinese_calendar as cc

    try:
        return cc.is_workday(day)
    except (
        NotImplementedError
    ):  # a year the State Council calendar does not cover: no deadline, never a guess
        return None


def _deadline(accepted: dt.date, n: int) -> dt.date | None:
    """The n-th working day after the acceptance day (行政许可法 art. 82: that day does not count); n = 0 (即办件):
    the day itself if a working day, else the next one (docs/marts.md "Working days")."""
    day, count = accepted, 0
    if n <= 0:
        while (w := _is_workday(day)) is False:
            day += dt.timedelta(days=1)
        return day if w else None
    while count < n:
        day += dt.timedelta(days=1)
        w = _is_workday(day)
        if w is None:
            return None
        count += w
    return day


@pytest.mark.parametrize("days", [30, 365])
def test_approval_on_time_by_item_type_in_working_days(wh, days: int) -> None:
    """Per 事项类型 (sxlx): on time = completed (before the end of the as-of day) on or before the deadline date;
    overdue = completed later, or open with the deadline date <= the as-of date; withdrawn (撤回) and open cases
    within their deadline are excluded; cases counted in the window of their acceptance day. Working days from
    the `chinesecalendar` library directly (incl. 调休), not the project's seed or macros."""
    as_of = mart_as_of(wh)
    first = as_of - dt.timedelta(days=days - 1)
    snapshot = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    items = latest(
        raw(wh, "approval", "items"),
        lambda d: d["sxbm"].map(lambda v: (text(v) or "").upper() or None),
        "updatedAt",
    )
    item_type = {k: text(t) for k, t in zip(items.index, items["sxlx"], strict=True)}
    limit = {k: to_int(n) for k, n in zip(items.index, items["cnsx"], strict=True)}
    cases = latest(raw(wh, "approval", "cases"), "bjbh", "updatedAt")
    counts: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
    for sxbm, slsj, bjsj, bjjg in cases[["sxbm", "slsj", "bjsj", "bjjg"]].itertuples(index=False):
        item = (text(sxbm) or "").upper()
        accepted, done = local_ts(slsj), local_ts(bjsj)
        if (
            item not in limit
            or accepted is None
            or not first <= accepted.date() <= as_of
            or text(bjjg) == "撤回"
        ):
            continue
        if limit[item] is None or (deadline := _deadline(accepted.date(), limit[item])) is None:
            continue
        done = done if done is not None and done < snapshot else None
        if done is not None:
            counts[item_type[item]][0 if done.date() <= deadline else 1] += 1
        elif deadline <= as_of:
            counts[item_type[item]][1] += 1
    got = {
        t: (int(a), int(b))
        for t, a, b in wh.execute(
            f"select item_type, sum(on_time_cases_{days}d), sum(overdue_cases_{days}d) from mart_catalog.service_catalog "
            "where item_kind = 'government' group by item_type"
        ).fetchall()
    }
    want = {t: (c[0], c[1]) for t, c in counts.items()}
    assert sum(a + b for a, b in want.values()) > 0
    assert {t: v for t, v in got.items() if v != (0, 0)} == want
    for t, (on_time, overdue) in want.items():
        (mart_rate,) = wh.execute(
            f"select sum(on_time_cases_{days}d) * 1.0 / nullif(sum(on_time_cases_{days}d + overdue_cases_{days}d), 0) "
            "from mart_catalog.service_catalog where item_kind = 'government' and item_type = ?",
            [t],
        ).fetchone()
        assert_close(mart_rate, rate(on_time, on_time + overdue), RATE_TOL, t)


# -- 4. complaints per 100 households and YoY, by joint mechanism (mart_property) --------------------------------
def _delivery_month(path: str, loaded_at: object) -> dt.date:
    """The month an estates file was delivered for: its path's {YYYY-MM} folder (contract layout
    {company}/{YYYY-MM}/estates.*), else the month it landed."""
    parts = path.split("/")
    if len(parts) > 2 and re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", parts[1]):
        return dt.date(int(parts[1][:4]), int(parts[1][5:]), 1)
    return month_start(pd.Timestamp(loaded_at).to_pydatetime())


def _property_independent(wh) -> tuple[dict, dict, dict]:
    comp = latest(raw(wh, "property", "complaints"), "tsbh")
    comp = pd.DataFrame(
        {
            "tsbh": comp["tsbh"].map(text),
            "estate": comp["xqmc"].map(text),
            "company": comp["_source_file"].map(lambda p: p.split("/")[0]),
            "accepted": comp["slsj"].map(local_ts),
        }
    )
    comp = comp[comp["accepted"].notna()]
    comp["year"] = comp["accepted"].map(lambda t: t.year)
    years = sorted(comp["year"].unique())
    per_estate = comp.groupby(["estate", "company", "year"])["tsbh"].nunique().to_dict()
    city_complaints = comp.groupby("year")["tsbh"].nunique().to_dict()

    est = raw(wh, "property", "estates")
    est["company"] = est["_source_file"].map(lambda p: p.split("/")[0])
    est["month"] = [
        _delivery_month(p, t) for p, t in zip(est["_source_file"], est["_loaded_at"], strict=True)
    ]
    est = latest(
        est,
        lambda d: [
            f"{text(x)}|{c}|{m}" if text(x) else None
            for x, c, m in zip(d["xqmc"], d["company"], d["month"], strict=True)
        ],
    )
    versions: dict[str, list[tuple[dt.date, int | None, bool, bool]]] = defaultdict(list)
    for xqmc, company, m, hs, dzz, ywh in est[["xqmc", "company", "month", "hs", "dzz", "ywh"]].itertuples(
        index=False
    ):
        versions[f"{text(xqmc)}|{company}"].append((m, to_int(hs), to_bool(dzz), to_bool(ywh)))

    estates: dict[tuple[str, int], dict] = {}
    for key, vs in versions.items():
        name, company = key.rsplit("|", 1)
        for year in years:
            valid = [v for v in vs if v[0] <= dt.date(year, 12, 31)]
            _, hh, dzz, ywh = max(valid) if valid else (None, None, None, None)
            n = per_estate.get((name, company, year), 0)
            estates[(key, year)] = {
                "complaints": n,
                "households": hh,
                "joint": bool(dzz and ywh),
                "rate": n * 100.0 / hh if hh else None,
            }
    for (key, year), e in estates.items():
        prior = estates.get((key, year - 1), {}).get("rate")
        e["yoy"] = (e["rate"] - prior) / prior if prior and e["rate"] is not None else None

    groups: dict[int, dict] = {}
    for year in years:
        rated = [e for (k, y), e in estates.items() if y == year and e["rate"] is not None]
        if not rated:
            continue
        g = {}
        for side, flag in (("with", True), ("without", False)):
            es = [e for e in rated if e["joint"] is flag]
            c, h = sum(e["complaints"] for e in es), sum(e["households"] for e in es)
            g[side] = {
                "estates": len(es),
                "complaints": c,
                "households": h,
                "pooled": c * 100.0 / h if h else None,
                "mean": sum(e["rate"] for e in es) / len(es) if es else None,
            }
        groups[year] = g
    for year, g in groups.items():
        for side in ("with", "without"):
            prior = groups.get(year - 1, {}).get(side, {}).get("pooled")
            now = g[side]["pooled"]
            g[side]["yoy"] = (now - prior) / prior if prior and now is not None else None

    city = {}
    for year in years:
        hh = sum(e["households"] or 0 for (k, y), e in estates.items() if y == year)
        city[year] = {
            "complaints": city_complaints[year],
            "households": hh,
            "rate": city_complaints[year] * 100.0 / hh if hh else None,
        }
    for year, c in city.items():
        prior = city.get(year - 1, {}).get("rate")
        c["yoy"] = (c["rate"] - prior) / prior if prior and c["rate"] is not None else None
    return estates, groups, city


def test_property_complaints_per_100_households_and_yoy_by_mechanism(wh) -> None:
    """Complaints (distinct 投诉编号 tsbh, latest delivery of each) per estate (小区名称 + the company folder of the
    file) and year accepted, per 100 households (户数 of the estate's estates file delivered for the latest month
    up to the year's end, docs in property_estate_yearly: "AS DELIVERED for the year"); the joint mechanism =
    党组织 (dzz) and 业委会 (ywh) both yes in that file. Groups pooled (sum complaints / sum households × 100) and
    as the mean of estate rates; YoY = (rate − prior) / prior of the previous calendar year, NULL when that is 0."""
    estates, groups, city = _property_independent(wh)
    got = {
        (k, y): r
        for k, y, *r in wh.execute(
            "select estate_key, year, complaints, households, complaints_per_100_households, yoy_change, "
            "has_joint_mechanism from mart_property.property_estate_yearly"
        ).fetchall()
    }
    assert set(got) == set(estates)
    for key, e in estates.items():
        c, h, r, yoy, joint = got[key]
        assert (c, h, joint) == (e["complaints"], e["households"], e["joint"]), key
        assert_close(r, e["rate"], PER100_TOL, key)
        assert_close(yoy, e["yoy"], RATE_TOL, (key, "yoy"))

    mart = {
        r[0]: r[1:]
        for r in wh.execute(
            "select year, estates_with, estates_without, complaints_with, complaints_without, households_with, "
            "households_without, pooled_rate_with, pooled_rate_without, mean_rate_with, mean_rate_without, "
            "yoy_change_with, yoy_change_without from mart_property.property_mechanism_comparison"
        ).fetchall()
    }
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

    mart_city = {
        r[0]: r[1:]
        for r in wh.execute(
            "select year, complaints, households, complaints_per_100_households, yoy_change "
            "from mart_property.property_city_yearly"
        ).fetchall()
    }
    assert sorted(mart_city) == sorted(city)
    for year, c in city.items():
        assert mart_city[year][:2] == (c["complaints"], c["households"]), year
        assert_close(mart_city[year][2], c["rate"], PER100_TOL, (year, "city rate"))
        assert_close(mart_city[year][3], c["yoy"], RATE_TOL, (year, "city yoy"))


# -- 6. points (mart_points) -------------------------------------------------------------------------------------
def _rule_points(kind: str, metric: str, month: dt.date, units: float) -> tuple[float, int] | None:
    """The seed's rule version valid on the month's first day: units × points_per_unit, limited to ±cap."""
    with RULES_CSV.open(encoding="utf-8", newline="") as f:
        for r in csv.DictReader(f):
            to = dt.date.fromisoformat(r["valid_to"]) if r["valid_to"] else dt.date.max
            if (r["subject_kind"], r["metric"]) == (kind, metric) and dt.date.fromisoformat(
                r["valid_from"]
            ) <= month <= to:
                pts = units * float(r["points_per_unit"])
                if r["cap_points"]:
                    pts = max(-float(r["cap_points"]), min(float(r["cap_points"]), pts))
                return pts, int(r["version"])
    return None


def test_points_every_metric_total_and_year_to_date(wh) -> None:
    """积分量化 (docs/marts.md "Points"): the grid worker responsible for an event's grid
    (wg_grid.wgy_id, latest version) scores events_closed, events_closed_on_time, events_satisfied (month closed),
    events_overdue (month of the deadline), patrol_events (网格员巡查, month reported); a party member scores the
    sum of dj_fwjl.jf (month served). Statuses as of the as-of day; months up to it; units > 0; the rule version
    valid on the month's first day, capped. Then each month's total and the calendar-year running total.
    Events are placed from raw as in grid_events: a worker's mart units may exceed the raw ones only by events
    placed from raw in no grid (at most their number per metric and month, in all); units, points, totals and
    points_ytd must agree exactly wherever the units do. (tests/marts_catalog_governance checks the units of two metrics.)"""
    as_of = mart_as_of(wh)
    ev = grid_events(wh, as_of)
    grids = latest(raw(wh, "grid", "wg_grid"), "wgbm", "update_time")
    worker = {k: text(w) for k, w in zip(grids.index, grids["wgy_id"], strict=True) if text(w)}
    units: dict[tuple[str, str | None, dt.date, str], float] = defaultdict(float)
    for e in ev.itertuples():
        if e.placed and worker.get(e.grid_code) is None:
            continue
        w = worker.get(
            e.grid_code
        )  # None: an event placed in no grid from raw (bounds the mart's extra units)
        if e.closed is not None:
            units[("grid_worker", w, month_start(e.closed), "events_closed")] += 1
            if e.status == "on_time":
                units[("grid_worker", w, month_start(e.closed), "events_closed_on_time")] += 1
            if e.satisfaction == "满意":
                units[("grid_worker", w, month_start(e.closed), "events_satisfied")] += 1
        if e.status == "overdue":
            units[("grid_worker", w, month_start(e.deadline), "events_overdue")] += 1
        if e.source == "网格员巡查":
            units[("grid_worker", w, month_start(e.reported), "patrol_events")] += 1
    service = latest(raw(wh, "party", "dj_fwjl"), "jl_id", "gxsj")
    for dy, fwrq, jf in service[["dy_id", "fwrq", "jf"]].itertuples(index=False):
        day, pts = local_date(fwrq), to_int(jf)
        if text(dy) and day and day <= as_of and pts is not None:
            units[("party_member", text(dy), month_start(day), "service_points")] += pts
    free = {(m, x): u for (_, s, m, x), u in units.items() if s is None}
    want = {}
    for (kind, subject, month, metric), u in units.items():
        if (
            subject
            and u > 0
            and month <= as_of
            and (scored := _rule_points(kind, metric, month, u)) is not None
        ):
            want[(kind, subject, month, metric)] = (u, *scored)
    got = {
        (k, s, m, x): (u, p, v)
        for k, s, m, x, u, p, v in wh.execute(
            "select subject_kind, subject_id, month_start, metric, units, points, rule_version "
            "from mart_points.points_monthly_detail"
        ).fetchall()
    }
    assert {k[3] for k in want} == {
        "events_closed",
        "events_closed_on_time",
        "events_satisfied",
        "events_overdue",
        "patrol_events",
        "service_points",
    }
    excess: dict[tuple[dt.date, str], float] = defaultdict(float)
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
    totals: dict[tuple[str, str, dt.date], float] = defaultdict(float)
    for key, (_, p, _) in want.items():
        totals[month_key(key)] += p
    mart = {
        (k, s, m): (t, y)
        for k, s, m, t, y in wh.execute(
            "select subject_kind, subject_id, month_start, total_points, points_ytd from mart_points.points_monthly"
        ).fetchall()
    }
    assert set(mart) == {month_key(k) for k in got}
    running: dict[tuple, float] = defaultdict(float)
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
RETIRED = {"退休", "离休", "离退休"}
_ADDRESS = re.compile(
    r"^(?:.*?省)?(?:.*?市)?(?P<district>[^省市]*?区)?(?P<estate>.+?)(?:\d+|[一二三四五六七八九十百零〇]+)(?:栋|幢|号楼|-)"
)


def _estate_of(address: object) -> tuple[str | None, str] | None:
    """(district, estate) from an address as the contract writes it ('江城市江汉区结江苑9栋4单元303室', '…花园29-2-1401')."""
    m = _ADDRESS.match(text(address) or "")
    return (m["district"], m["estate"]) if m else None


def _community_core(name: object) -> str | None:
    s = text(name)
    return re.sub(r"(社区居民委员会|社区居委会|居民委员会|居委会|社区)$", "", s) if s else None


def test_party_check_in_rate_by_community(wh) -> None:
    """在职党员回常住地报到率 = in-service members who checked in (dj_bd 已报到) at their home community / in-service
    members living there. In service: dj_dy status 正常 with a work unit (gzdw) — 退休 / 离休 is the party system's
    entry for a retired member, not a work unit.
    Home community from raw fields directly, no identity layer: the estate (小区) named in the member's home address
    (dj_dy.jtzz) placed by the grid system's registered residents (wg_syrk, not soft-deleted) living in that estate
    of that district — the community = the first 12 digits of their grid codes (contract: grid_code = community
    code + 3 digits) — when they all live in ONE community; else the community named in the member's latest
    registration (dj_bd.czd_sq, matched to the divisions reference by its core name, the mart's own fallback);
    else unknown (an address naming no estate of the grid system and no registration). A member whose home this
    cannot say unambiguously (an address this simple parser does not read, an estate in several communities, a
    community text naming several) is left out of the comparison: every community's mart count (and the unknown
    row's) may exceed the independent one by at most the number left out (at most a tenth of the members), and
    counts and rates must agree exactly on the communities where the counts agree."""
    members = latest(raw(wh, "party", "dj_dy"), "dy_id", "gxsj")
    in_service = [
        (text(d), a)
        for d, gz, zt, a in members[["dy_id", "gzdw", "djzt", "jtzz"]].itertuples(index=False)
        if text(zt) == "正常" and text(gz) and text(gz) not in RETIRED
    ]
    residents = latest(raw(wh, "grid", "wg_syrk"), "rkid", "update_time")
    places: dict[tuple, set[str]] = defaultdict(set)
    for addr, grid, deleted in residents[["jzdz", "wgbm", "sfsc"]].itertuples(index=False):
        if (e := _estate_of(addr)) and text(grid) and not to_bool(deleted):
            places[e].add(text(grid)[:12])
    divisions = raw(wh, "reference", "divisions")
    by_core: dict[str, set[str]] = defaultdict(set)
    for code, name, level in divisions[["division_code", "name", "level"]].itertuples(index=False):
        if text(level) == "社区":
            by_core[_community_core(name)].add(text(code))
    regs = latest(raw(wh, "party", "dj_bd"), "bd_id", "gxsj")
    regs = pd.DataFrame(
        {
            "bd_id": regs["bd_id"].map(text),
            "member": regs["dy_id"].map(text),
            "status": regs["zt"].map(text),
            "on": regs["bdrq"].map(local_date),
            "community": regs["czd_sq"].map(lambda s: by_core.get(_community_core(s), set())),
        }
    )
    declared = {}
    for r in regs.sort_values(["on", "bd_id"], na_position="first").itertuples():
        if r.community:
            declared[r.member] = r.community  # the latest registration naming a community wins

    want: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
    left_out = 0
    for member, address in in_service:
        estate = _estate_of(address)
        home = places.get(estate) or declared.get(member) or ({None} if estate else set())
        if len(home) != 1:
            left_out += 1
            continue
        (code,) = home
        checked = (
            (regs["member"] == member)
            & (regs["status"] == "已报到")
            & regs["community"].map(lambda c, code=code: c == {code})
        ).any()
        want[code][0] += 1
        want[code][1] += int(checked and code is not None)
    got = {
        c: (n, k, r)
        for c, n, k, r in wh.execute(
            "select community_code, in_service_members, members_checked_in, check_in_rate "
            "from mart_party.party_check_in_rate_by_community"
        ).fetchall()
    }
    assert sum(n for n, _ in want.values()) > 20 and left_out <= len(in_service) / 10
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
