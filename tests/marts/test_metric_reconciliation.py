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
  (contract header, "time"); dates come in the formats the contract's `dirt:` lists.

Tolerances: counts exactly, rates within 0.5 points (0.005 as a fraction, 0.5 for a rate per 100 households).
Reconciliations already in tests/marts_a/test_marts_a.py (catalog totals and the five busiest items, governance
totals, service points and closed-event units) and tests/marts_b/test_marts_b_reconcile.py (property and
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
        m = re.match(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})[日号]?(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?$", s)
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
    has_rejects = wh.execute("select count(*) from information_schema.tables "
                             "where table_schema = 'ops' and table_name = 'raw_rejects'").fetchone()[0]
    rejected = (f"where r._row_hash not in (select x._row_hash from ops.raw_rejects as x "
                f"where x.system = '{system}' and x.table_name = '{table}')") if has_rejects else ""
    return wh.execute(f"select * from raw_{system}.{table} as r {rejected}").df()


def latest(df: pd.DataFrame, key: str | list[str] | Callable[[pd.DataFrame], pd.Series],
           cursor: str | None = None) -> pd.DataFrame:
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
def grid_events(wh, as_of: dt.date) -> pd.DataFrame:
    """wg_sj, latest version per sjbh, with the on-time status as of the end of the as-of day:
    docs/marts_catalog_governance_points.md "Governance": closed at or before clsx -> on_time; closed later, or
    open with clsx before the snapshot -> overdue; open within the deadline -> open; events reported after the
    as-of day are left out; a closure after it counts as not yet closed."""
    snapshot = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    ev = latest(raw(wh, "grid", "wg_sj"), "sjbh", "update_time")
    out = pd.DataFrame({
        "event_id": ev["sjbh"].map(text), "grid_code": ev["wgbm"].map(text), "source": ev["sjly"].map(text),
        "reported": ev["sbsj"].map(local_ts), "deadline": ev["clsx"].map(local_ts), "closed": ev["jasj"].map(local_ts),
        "satisfaction": ev["myd"].map(satisfaction),
    })
    out = out[out["reported"].map(lambda t: t is not None and t < snapshot)].copy()
    out["closed"] = out["closed"].map(lambda t: t if t is not None and t < snapshot else None)

    def status(r) -> str | None:  # noqa: ANN001
        if r.closed is not None:
            return None if r.deadline is None else "on_time" if r.closed <= r.deadline else "overdue"
        if r.deadline is None:
            return None
        return "overdue" if r.deadline < snapshot else "open"

    for col in ("reported", "deadline", "closed"):  # None, not NaT, for the checks below
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    out["status"] = [status(r) for r in out.itertuples()]
    return out


# -- 1. event on-time rate by grid (mart_governance) ---------------------------------------------------------
def test_event_on_time_rate_by_grid(wh) -> None:
    """On-time rate per grid and month reported = on time / (on time + overdue) (NULL when none is decided),
    events attributed to their grid code (NULL = none); and per grid over all months."""
    ev = grid_events(wh, mart_as_of(wh))
    ev["grid"] = ev["grid_code"].fillna("<none>")
    ev["month"] = ev["reported"].map(month_start)
    want = {(None if g == "<none>" else g, m): (int((x["status"] == "on_time").sum()),
                                                int((x["status"] == "overdue").sum()))
            for (g, m), x in ev.groupby(["grid", "month"])}
    got = {(g, m): (a, b, r) for g, m, a, b, r in wh.execute(
        "select grid_code, month_start, on_time_events, overdue_events, on_time_rate "
        "from mart_governance.governance_by_grid_month").fetchall()}
    assert len({g for g, _ in want}) > 50
    assert set(got) == set(want)
    per_grid: dict[str | None, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for key, (on_time, overdue) in want.items():
        assert got[key][:2] == (on_time, overdue), key
        assert_close(got[key][2], rate(on_time, on_time + overdue), RATE_TOL, key)
        acc = per_grid[key[0]]
        acc[0] += on_time
        acc[1] += overdue
        acc[2] += got[key][0]
        acc[3] += got[key][1]
    for grid, (on_time, overdue, mart_on_time, mart_overdue) in per_grid.items():
        assert_close(rate(mart_on_time, mart_on_time + mart_overdue), rate(on_time, on_time + overdue), RATE_TOL,
                     grid)


# -- 2. on-time closure, grids with a certified full-time grid worker vs the others (mart_demands) ----------------
def test_event_on_time_by_certified_grid_worker(wh) -> None:
    """demands_grid_timeliness / demands_timeliness_comparison: per grid and year reported, closed events and those
    closed by the deadline (jasj <= clsx); a grid is 'certified' when one of its grid workers (wg_wgy, latest
    version) is 在岗, 专职 and holds the social-work certificate (sgzs). Rates pooled over closed events."""
    ev = latest(raw(wh, "grid", "wg_sj"), "sjbh", "update_time")
    ev = pd.DataFrame({"grid": ev["wgbm"].map(text), "reported": ev["sbsj"].map(local_ts),
                       "deadline": ev["clsx"].map(local_ts), "closed": ev["jasj"].map(local_ts)})
    ev = ev[ev["grid"].notna() & ev["reported"].notna()]
    ev["year"] = ev["reported"].map(lambda t: t.year)
    ev["is_closed"] = ev["closed"].notna()
    ev["on_time"] = [c is not None and d is not None and c <= d for c, d in zip(ev["closed"], ev["deadline"],
                                                                                   strict=True)]
    workers = latest(raw(wh, "grid", "wg_wgy"), "wgy_id", "update_time")
    certified = {text(g) for g, zt, lx, cert in workers[["wgbm", "zt", "rylx", "sgzs"]].itertuples(index=False)
                 if text(g) and text(zt) == "在岗" and text(lx) == "专职" and to_bool(cert)}
    per_grid = ev.groupby(["grid", "year"]).agg(events=("grid", "size"), closed=("is_closed", "sum"),
                                                on_time=("on_time", "sum"))
    want = {(g, y): (int(r.events), int(r.closed), int(r.on_time), g in certified)
            for (g, y), r in per_grid.iterrows()}
    got = {(g, y): (e, c, o, bool(cert)) for g, y, e, c, o, cert in wh.execute(
        "select grid_code, year, events, events_closed, closed_on_time, has_certified_fulltime_worker "
        "from mart_demands.demands_grid_timeliness").fetchall()}
    assert got == want
    mart = {r[0]: r[1:] for r in wh.execute(
        "select year, closed_certified, on_time_certified, closed_other, on_time_other, on_time_rate_certified, "
        "on_time_rate_other from mart_demands.demands_timeliness_comparison").fetchall()}
    years = sorted({y for _, y in want})
    assert sorted(mart) == years
    for year in years:
        rows = [v for (g, y), v in want.items() if y == year]
        cc = sum(v[1] for v in rows if v[3])
        oc = sum(v[2] for v in rows if v[3])
        co = sum(v[1] for v in rows if not v[3])
        oo = sum(v[2] for v in rows if not v[3])
        assert mart[year][:4] == (cc, oc, co, oo), year
        assert_close(mart[year][4], rate(oc, cc), RATE_TOL, (year, "certified"))
        assert_close(mart[year][5], rate(oo, co), RATE_TOL, (year, "other"))


# -- 3. approval on time by item type, in working days (mart_catalog.service_catalog) ---------------------------
def _is_workday(day: dt.date) -> bool | None:
    import chinese_calendar as cc

    try:
        return cc.is_workday(day)
    except NotImplementedError:  # a year the State Council calendar does not cover: no deadline, never a guess
        return None


def _deadline(accepted: dt.date, n: int) -> dt.date | None:
    """The n-th working day after the acceptance day (行政许可法 art. 82: that day does not count); n = 0 (即办件):
    the day itself if a working day, else the next one (docs/marts_catalog_governance_points.md "Working days")."""
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
    items = latest(raw(wh, "approval", "items"), lambda d: d["sxbm"].map(lambda v: (text(v) or "").upper() or None),
                   "updatedAt")
    item_type = {k: text(t) for k, t in zip(items.index, items["sxlx"], strict=True)}
    limit = {k: to_int(n) for k, n in zip(items.index, items["cnsx"], strict=True)}
    cases = latest(raw(wh, "approval", "cases"), "bjbh", "updatedAt")
    counts: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
    for sxbm, slsj, bjsj, bjjg in cases[["sxbm", "slsj", "bjsj", "bjjg"]].itertuples(index=False):
        item = (text(sxbm) or "").upper()
        accepted, done = local_ts(slsj), local_ts(bjsj)
        if item not in limit or accepted is None or not first <= accepted.date() <= as_of or text(bjjg) == "撤回":
            continue
        if limit[item] is None or (deadline := _deadline(accepted.date(), limit[item])) is None:
            continue
        done = done if done is not None and done < snapshot else None
        if done is not None:
            counts[item_type[item]][0 if done.date() <= deadline else 1] += 1
        elif deadline <= as_of:
            counts[item_type[item]][1] += 1
    got = {t: (int(a), int(b)) for t, a, b in wh.execute(
        f"select item_type, sum(on_time_cases_{days}d), sum(overdue_cases_{days}d) from mart_catalog.service_catalog "
        "where item_kind = 'government' group by item_type").fetchall()}
    want = {t: (c[0], c[1]) for t, c in counts.items()}
    assert sum(a + b for a, b in want.values()) > 0
    assert {t: v for t, v in got.items() if v != (0, 0)} == want
    for t, (on_time, overdue) in want.items():
        (mart_rate,) = wh.execute(
            f"select sum(on_time_cases_{days}d) * 1.0 / nullif(sum(on_time_cases_{days}d + overdue_cases_{days}d), 0) "
            "from mart_catalog.service_catalog where item_kind = 'government' and item_type = ?", [t]).fetchone()
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
    comp = pd.DataFrame({"tsbh": comp["tsbh"].map(text), "estate": comp["xqmc"].map(text),
                         "company": comp["_source_file"].map(lambda p: p.split("/")[0]),
                         "accepted": comp["slsj"].map(local_ts)})
    comp = comp[comp["accepted"].notna()]
    comp["year"] = comp["accepted"].map(lambda t: t.year)
    years = sorted(comp["year"].unique())
    per_estate = comp.groupby(["estate", "company", "year"])["tsbh"].nunique().to_dict()
    city_complaints = comp.groupby("year")["tsbh"].nunique().to_dict()

    est = raw(wh, "property", "estates")
    est["company"] = est["_source_file"].map(lambda p: p.split("/")[0])
    est["month"] = [_delivery_month(p, t) for p, t in zip(est["_source_file"], est["_loaded_at"], strict=True)]
    est = latest(est, lambda d: [f"{text(x)}|{c}|{m}" if text(x) else None
                                 for x, c, m in zip(d["xqmc"], d["company"], d["month"], strict=True)])
    versions: dict[str, list[tuple[dt.date, int | None, bool, bool]]] = defaultdict(list)
    for xqmc, company, m, hs, dzz, ywh in est[["xqmc", "company", "month", "hs", "dzz", "ywh"]].itertuples(index=False):
        versions[f"{text(xqmc)}|{company}"].append((m, to_int(hs), to_bool(dzz), to_bool(ywh)))

    estates: dict[tuple[str, int], dict] = {}
    for key, vs in versions.items():
        name, company = key.rsplit("|", 1)
        for year in years:
            valid = [v for v in vs if v[0] <= dt.date(year, 12, 31)]
            _, hh, dzz, ywh = max(valid) if valid else (None, None, None, None)
            n = per_estate.get((name, company, year), 0)
            estates[(key, year)] = {"complaints": n, "households": hh, "joint": bool(dzz and ywh),
                                    "rate": n * 100.0 / hh if hh else None}
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
            g[side] = {"estates": len(es), "complaints": c, "households": h, "pooled": c * 100.0 / h if h else None,
                       "mean": sum(e["rate"] for e in es) / len(es) if es else None}
        groups[year] = g
    for year, g in groups.items():
        for side in ("with", "without"):
            prior = groups.get(year - 1, {}).get(side, {}).get("pooled")
            now = g[side]["pooled"]
            g[side]["yoy"] = (now - prior) / prior if prior and now is not None else None

    city = {}
    for year in years:
        hh = sum(e["households"] or 0 for (k, y), e in estates.items() if y == year)
        city[year] = {"complaints": city_complaints[year], "households": hh,
                      "rate": city_complaints[year] * 100.0 / hh if hh else None}
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
    got = {(k, y): r for k, y, *r in wh.execute(
        "select estate_key, year, complaints, households, complaints_per_100_households, yoy_change, "
        "has_joint_mechanism from mart_property.property_estate_yearly").fetchall()}
    assert set(got) == set(estates)
    for key, e in estates.items():
        c, h, r, yoy, joint = got[key]
        assert (c, h, joint) == (e["complaints"], e["households"], e["joint"]), key
        assert_close(r, e["rate"], PER100_TOL, key)
        assert_close(yoy, e["yoy"], RATE_TOL, (key, "yoy"))

    mart = {r[0]: r[1:] for r in wh.execute(
        "select year, estates_with, estates_without, complaints_with, complaints_without, households_with, "
        "households_without, pooled_rate_with, pooled_rate_without, mean_rate_with, mean_rate_without, "
        "yoy_change_with, yoy_change_without from mart_property.property_mechanism_comparison").fetchall()}
    assert sorted(mart) == sorted(groups)
    for year, g in groups.items():
        w, o = g["with"], g["without"]
        m = mart[year]
        assert m[:6] == (w["estates"], o["estates"], w["complaints"], o["complaints"], w["households"],
                         o["households"]), year
        for got_v, want_v, tol, what in ((m[6], w["pooled"], PER100_TOL, "pooled with"),
                                         (m[7], o["pooled"], PER100_TOL, "pooled without"),
                                         (m[8], w["mean"], PER100_TOL, "mean with"),
                                         (m[9], o["mean"], PER100_TOL, "mean without"),
                                         (m[10], w["yoy"], RATE_TOL, "yoy with"),
                                         (m[11], o["yoy"], RATE_TOL, "yoy without")):
            assert_close(got_v, want_v, tol, (year, what))

    mart_city = {r[0]: r[1:] for r in wh.execute(
        "select year, complaints, households, complaints_per_100_households, yoy_change "
        "from mart_property.property_city_yearly").fetchall()}
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
            if (r["subject_kind"], r["metric"]) == (kind, metric) and dt.date.fromisoformat(r["valid_from"]) <= month <= to:
                pts = units * float(r["points_per_unit"])
                if r["cap_points"]:
                    pts = max(-float(r["cap_points"]), min(float(r["cap_points"]), pts))
                return pts, int(r["version"])
    return None


def test_points_every_metric_total_and_year_to_date(wh) -> None:
    """积分量化 (docs/marts_catalog_governance_points.md "Points"): the grid worker responsible for an event's grid
    (wg_grid.wgy_id, latest version) scores events_closed, events_closed_on_time, events_satisfied (month closed),
    events_overdue (month of the deadline), patrol_events (网格员巡查, month reported); a party member scores the
    sum of dj_fwjl.jf (month served). Statuses as of the as-of day; months up to it; units > 0. Then each month's
    total and the calendar-year running total. (tests/marts_a checks the units of two metrics; this checks the
    units and points of all six, the totals and points_ytd.)"""
    as_of = mart_as_of(wh)
    ev = grid_events(wh, as_of)
    grids = latest(raw(wh, "grid", "wg_grid"), "wgbm", "update_time")
    worker = {k: text(w) for k, w in zip(grids.index, grids["wgy_id"], strict=True) if text(w)}
    units: dict[tuple[str, str, dt.date, str], float] = defaultdict(float)
    for e in ev.itertuples():
        w = worker.get(e.grid_code)
        if w is None:
            continue
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
    want = {}
    for (kind, subject, month, metric), u in units.items():
        if u > 0 and month <= as_of and (scored := _rule_points(kind, metric, month, u)) is not None:
            want[(kind, subject, month, metric)] = (u, *scored)
    got = {(k, s, m, x): (u, p, v) for k, s, m, x, u, p, v in wh.execute(
        "select subject_kind, subject_id, month_start, metric, units, points, rule_version "
        "from mart_points.points_monthly_detail").fetchall()}
    assert {k[3] for k in want} == {"events_closed", "events_closed_on_time", "events_satisfied", "events_overdue",
                                    "patrol_events", "service_points"}
    assert set(got) == set(want)
    for key, (u, p, v) in want.items():
        assert got[key][0] == u and got[key][2] == v, key
        assert got[key][1] == pytest.approx(p, abs=1e-9), key

    totals: dict[tuple[str, str, dt.date], float] = defaultdict(float)
    for (kind, subject, month, _), (_, p, _) in want.items():
        totals[(kind, subject, month)] += p
    ytd, running = {}, defaultdict(float)
    for kind, subject, month in sorted(totals):
        running[(kind, subject, month.year)] += totals[(kind, subject, month)]
        ytd[(kind, subject, month)] = running[(kind, subject, month.year)]
    mart = {(k, s, m): (t, y) for k, s, m, t, y in wh.execute(
        "select subject_kind, subject_id, month_start, total_points, points_ytd from mart_points.points_monthly").fetchall()}
    assert set(mart) == set(totals)
    for key, total in totals.items():
        assert mart[key][0] == pytest.approx(total, abs=1e-9), key
        assert mart[key][1] == pytest.approx(ytd[key], abs=1e-9), key


# -- 5. check-in rate of in-service party members by home community (mart_party) ------------------------------
RETIRED = {"退休", "离休", "离退休"}
_ADDRESS = re.compile(r"^(?:.*?省)?(?:.*?市)?(?P<district>[^省市]*?区)?(?P<estate>.+?)(?:\d+|[一二三四五六七八九十]+)(?:栋|-)")


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
    else unknown. A member whose home is ambiguous that way (estate in several communities, or a community text
    naming several) is left out of the comparison: every community's mart count may exceed the independent one
    by at most the number left out, and rates are compared on the communities whose counts agree."""
    members = latest(raw(wh, "party", "dj_dy"), "dy_id", "gxsj")
    in_service = [(text(d), a) for d, gz, zt, a in members[["dy_id", "gzdw", "djzt", "jtzz"]].itertuples(index=False)
                  if text(zt) == "正常" and text(gz) and text(gz) not in RETIRED]
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
    regs = pd.DataFrame({"bd_id": regs["bd_id"].map(text), "member": regs["dy_id"].map(text),
                         "status": regs["zt"].map(text), "on": regs["bdrq"].map(local_date),
                         "community": regs["czd_sq"].map(lambda s: by_core.get(_community_core(s), set()))})
    declared = {}
    for r in regs.sort_values(["on", "bd_id"], na_position="first").itertuples():
        if r.community:
            declared[r.member] = r.community  # the latest registration naming a community wins

    want: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
    left_out = 0
    for member, address in in_service:
        home = places.get(_estate_of(address)) or declared.get(member) or {None}
        if len(home) > 1:
            left_out += 1
            continue
        (code,) = home
        checked = ((regs["member"] == member) & (regs["status"] == "已报到")
                   & regs["community"].map(lambda c, code=code: c == {code})).any()
        want[code][0] += 1
        want[code][1] += int(checked and code is not None)
    got = {c: (n, k, r) for c, n, k, r in wh.execute(
        "select community_code, in_service_members, members_checked_in, check_in_rate "
        "from mart_party.party_check_in_rate_by_community").fetchall()}
    assert sum(n for n, _ in want.values()) > 20
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
