"""Each governance metric recomputed INDEPENDENTLY from the raw landing tables, beside the mart's figures
(issue 11, "Grain and reconciliation"). One owner of the recomputation: tests/marts/test_metric_reconciliation.py
asserts on it (the small demo city), bench/generalise.py prints each metric's largest deviation per simulator
variant (`deviations`).

Every figure here is computed with plain pandas / Python over `raw_<system>.<table>` only — never staging,
intermediate models or dbt macros — after the minimum honest cleaning the contract and docs/conventions.md
prescribe:

- raw is append-only history: one row per key, the latest cursor value winning, then the latest `_loaded_at`
  (then, for files, the greater `_source_file`) — conventions "Raw landing", "Staging picks the latest version
  per key (cursor, then _loaded_at)";
- rows the raw gate rejected (`ops.raw_rejects`, by `_row_hash`) never reach a mart — conventions, ops.raw_rejects;
- texts are trimmed; timestamps without an offset are Asia/Shanghai local time, with an offset shifted to +08:00
  (contract header, "time"); dates come in the formats the contract's `dirt:` lists;
- where a mart resolves identity (an event's grid, a member's home community) the recomputation resolves it from
  the raw fields directly (the stated grid code the grid system knows; the home address's estate, placed by the
  grid system's residents): the records that places unambiguously are compared exactly, the rest bound the
  difference.

`wh` is a DB-API style connection with `execute(sql).fetchone() / fetchall() / df()` (DuckDB).
Tolerance: 0.5 points — 0.005 of a rate stored as a fraction, 0.5 of a rate per 100 households.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
RULES_CSV = REPO / "dbt_project" / "seeds" / "points" / "points_rules.csv"
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
RATE_TOL = 0.005  # 0.5 percentage points, rates stored as fractions
TOLERANCE_POINTS = 0.5  # the tolerance of every metric, in points
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


def counts_by_grid(ev: pd.DataFrame, period: str, count) -> tuple[dict, dict]:  # noqa: ANN001
    """(grid, period) -> counts over the events placed from raw; period -> counts over the unplaced ones."""
    want = {(g, p): count(x) for (g, p), x in ev[ev["placed"]].groupby(["grid_code", period])}
    unplaced = {p: count(x) for p, x in ev[~ev["placed"]].groupby(period)}
    return want, unplaced


# -- 1. event on-time rate by grid (mart_governance) ---------------------------------------------------------
def event_on_time_by_grid(wh) -> dict:
    """On-time rate per grid and month reported = on time / (on time + overdue) (NULL when none is decided).
    want / unplaced: (events, on time, overdue) from raw; got / rates: the mart's."""
    ev = grid_events(wh, mart_as_of(wh))
    ev["month"] = ev["reported"].map(month_start)

    def counts(x: pd.DataFrame) -> tuple[int, int, int]:
        return len(x), int((x["status"] == "on_time").sum()), int((x["status"] == "overdue").sum())

    want, unplaced = counts_by_grid(ev, "month", counts)
    rows = wh.execute(
        "select grid_code, month_start, events, on_time_events, overdue_events, on_time_rate "
        "from mart_governance.governance_by_grid_month"
    ).fetchall()
    return {
        "events": ev,
        "want": want,
        "unplaced": unplaced,
        "got": {(g, m): (n, a, b) for g, m, n, a, b, _ in rows},
        "rates": {(g, m): r for g, m, *_, r in rows},
    }


# -- 2. on-time closure, grids with a certified full-time grid worker vs the others (mart_demands) ----------------
def event_on_time_by_certified_worker(wh) -> dict:
    """Per grid and year reported: (events, closed, closed by the deadline jasj <= clsx) from raw; a grid is
    'certified' when one of its grid workers (wg_wgy, latest version) is 在岗, 专职 and holds the social-work
    certificate (sgzs). got: the mart's per-grid counts and flags; mart: demands_timeliness_comparison by year;
    raw: year -> flag -> (closed, on time) over the grids placed from raw."""
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

    want, unplaced = counts_by_grid(ev, "year", counts)
    rows = wh.execute(
        "select grid_code, year, events, events_closed, closed_on_time, has_certified_fulltime_worker "
        "from mart_demands.demands_grid_timeliness"
    ).fetchall()
    mart = {
        r[0]: r[1:]
        for r in wh.execute(
            "select year, closed_certified, on_time_certified, closed_other, on_time_other, on_time_rate_certified, "
            "on_time_rate_other from mart_demands.demands_timeliness_comparison"
        ).fetchall()
    }
    by_year = {}
    for year in {y for _, y in want}:
        by_year[year] = {
            flag: (
                sum(v[1] for (g, y), v in want.items() if y == year and (g in certified) is flag),
                sum(v[2] for (g, y), v in want.items() if y == year and (g in certified) is flag),
            )
            for flag in (True, False)
        }
    return {
        "certified": certified,
        "want": want,
        "unplaced": unplaced,
        "rows": rows,
        "got": {(g, y): (e, c, o) for g, y, e, c, o, _ in rows},
        "mart": mart,
        "raw": by_year,
    }


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


def approval_on_time_by_item_type(wh, days: int) -> dict:
    """Per 事项类型 (sxlx): on time = completed (before the end of the as-of day) on or before the deadline date;
    overdue = completed later, or open with the deadline date <= the as-of date; withdrawn (撤回) and open cases
    within their deadline are excluded; cases counted in the window of their acceptance day. Working days from
    the `chinesecalendar` library directly (incl. 调休), not the project's seed or macros.
    want / got: item type -> (on time, overdue); mart_rates: the mart's pooled rate per type."""
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
    rows = wh.execute(
        f"select item_type, sum(on_time_cases_{days}d), sum(overdue_cases_{days}d), "
        f"sum(on_time_cases_{days}d) * 1.0 / nullif(sum(on_time_cases_{days}d + overdue_cases_{days}d), 0) "
        "from mart_catalog.service_catalog where item_kind = 'government' group by item_type"
    ).fetchall()
    return {
        "want": {t: (c[0], c[1]) for t, c in counts.items()},
        "got": {t: (int(a), int(b)) for t, a, b, _ in rows},
        "mart_rates": {t: r for t, _, _, r in rows},
    }


# -- 4. complaints per 100 households and YoY, by joint mechanism (mart_property) --------------------------------
def _delivery_month(path: str, loaded_at: object) -> dt.date:
    """The month an estates file was delivered for: its path's {YYYY-MM} folder (contract layout
    {company}/{YYYY-MM}/estates.*), else the month it landed."""
    parts = path.split("/")
    if len(parts) > 2 and re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", parts[1]):
        return dt.date(int(parts[1][:4]), int(parts[1][5:]), 1)
    return month_start(pd.Timestamp(loaded_at).to_pydatetime())


def property_independent(wh) -> tuple[dict, dict, dict]:
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


def property_marts(wh) -> tuple[dict, dict, dict]:
    """The marts' figures: per (estate, year), per year by mechanism, and the city per year."""
    got = {
        (k, y): r
        for k, y, *r in wh.execute(
            "select estate_key, year, complaints, households, complaints_per_100_households, yoy_change, "
            "has_joint_mechanism from mart_property.property_estate_yearly"
        ).fetchall()
    }
    mart = {
        r[0]: r[1:]
        for r in wh.execute(
            "select year, estates_with, estates_without, complaints_with, complaints_without, households_with, "
            "households_without, pooled_rate_with, pooled_rate_without, mean_rate_with, mean_rate_without, "
            "yoy_change_with, yoy_change_without from mart_property.property_mechanism_comparison"
        ).fetchall()
    }
    mart_city = {
        r[0]: r[1:]
        for r in wh.execute(
            "select year, complaints, households, complaints_per_100_households, yoy_change "
            "from mart_property.property_city_yearly"
        ).fetchall()
    }
    return got, mart, mart_city


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


def points_units(wh) -> dict:
    """积分量化 (docs/marts.md "Points"): the grid worker responsible for an event's grid (wg_grid.wgy_id, latest
    version) scores events_closed, events_closed_on_time, events_satisfied (month closed), events_overdue (month
    of the deadline), patrol_events (网格员巡查, month reported); a party member scores the sum of dj_fwjl.jf
    (month served). Statuses as of the as-of day; months up to it; units > 0; the rule version valid on the
    month's first day, capped. want: (kind, subject, month, metric) -> (units, points, rule version); free:
    (month, metric) -> units of events placed from raw in no grid; got / mart: points_monthly_detail /
    points_monthly."""
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
    mart = {
        (k, s, m): (t, y)
        for k, s, m, t, y in wh.execute(
            "select subject_kind, subject_id, month_start, total_points, points_ytd from mart_points.points_monthly"
        ).fetchall()
    }
    return {"want": want, "free": free, "got": got, "mart": mart}


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


def check_in_by_community(wh) -> dict:
    """在职党员回常住地报到率 = in-service members who checked in (dj_bd 已报到) at their home community / in-service
    members living there. In service: dj_dy status 正常 with a work unit (gzdw) — 退休 / 离休 is the party system's
    entry for a retired member, not a work unit.
    Home community from raw fields directly, no identity layer: the estate (小区) named in the member's home address
    (dj_dy.jtzz) placed by the grid system's registered residents (wg_syrk, not soft-deleted) living in that estate
    of that district — the community = the first 12 digits of their grid codes (contract: grid_code = community
    code + 3 digits) — when they all live in ONE community; else the community named in the member's latest
    registration (dj_bd.czd_sq, matched to the divisions reference by its core name, the mart's own fallback);
    else unknown (an address naming no estate of the grid system and no registration). A member whose home this
    cannot say unambiguously is left out (`left_out`). want: community -> [members, checked in]; got: the
    mart's (members, checked in, rate)."""
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
    return {"want": dict(want), "left_out": left_out, "in_service": len(in_service), "got": got}


# -- per metric: the largest deviation, in points ---------------------------------------------------------------
@dataclass
class Deviation:
    metric: str
    compared: int  # figures compared
    of: int  # figures the mart holds for the metric
    max_points: float | None  # largest |mart - independent|, in points (None: nothing compared)
    note: str = ""

    @property
    def within(self) -> bool:
        return self.max_points is not None and self.max_points <= TOLERANCE_POINTS


def _dev(pairs: list[tuple[float | None, float | None]], scale: float) -> tuple[int, float | None]:
    """How many (mart, independent) figures are compared and their largest difference × scale; a figure only one
    side has (the other NULL) counts as an infinite deviation."""
    worst, n = None, 0
    for got, want in pairs:
        if got is None and want is None:
            continue
        n += 1
        d = float("inf") if got is None or want is None else abs(float(got) - float(want)) * scale
        worst = d if worst is None else max(worst, d)
    return n, worst


def deviations(wh) -> list[Deviation]:
    """Each metric's largest deviation between the mart and the independent recomputation, in points
    (percentage points for rates stored as fractions and for YoY changes; the rate's own unit for a rate per
    100 households; score points for 积分). Compared where the recomputation places a record the way the mart
    does (the counts agree); `note` says what was left out."""
    out = []
    f = event_on_time_by_grid(wh)
    keys = [k for k in f["want"] if f["got"].get(k) == f["want"][k]]
    n, worst = _dev(
        [(f["rates"][k], rate(f["want"][k][1], f["want"][k][1] + f["want"][k][2])) for k in keys], 100
    )
    out.append(
        Deviation(
            "event on-time rate by grid and month",
            n,
            len(f["got"]),
            worst,
            f"{int((~f['events']['placed']).sum())} of {len(f['events'])} events state no known grid",
        )
    )

    f = event_on_time_by_certified_worker(wh)
    # raw places an event by its stated code only; the mart also places the others through the identity layer.
    # Per year and side the mart's rate can take any of the year's unplaced closed events on top of the raw
    # counts: its deviation is its distance from the interval of rates those events allow (0 inside), and the
    # note gives the plain difference from the raw-placed rate.
    pairs, plain = [], []
    for year, m in f["mart"].items():
        _, free_closed, free_on_time = f["unplaced"].get(year, (0, 0, 0))
        free_late = free_closed - free_on_time
        for flag, mart_rate in ((True, m[4]), (False, m[5])):
            closed, on_time = f["raw"].get(year, {}).get(flag, (0, 0))
            plain.append((mart_rate, rate(on_time, closed)))
            lo, hi = rate(on_time, closed + free_late), rate(on_time + free_on_time, closed + free_on_time)
            if mart_rate is None or lo is None or hi is None:
                pairs.append((mart_rate, rate(on_time, closed)))
            else:
                pairs.append((mart_rate, min(max(float(mart_rate), lo), hi)))
    n, worst = _dev(pairs, 100)
    _, worst_plain = _dev(plain, 100)
    free = sum(v[1] for v in f["unplaced"].values())
    out.append(
        Deviation(
            "event on-time, certified worker vs other",
            n,
            2 * len(f["mart"]),
            worst,
            f"outside the bounds of {free} closed events raw places in no grid; "
            f"{worst_plain:.2f} points from the raw-placed rate",
        )
    )

    for days in (30, 365):
        f = approval_on_time_by_item_type(wh, days)
        types = set(f["want"]) | {t for t, v in f["got"].items() if v != (0, 0)}
        pairs = [
            (f["mart_rates"].get(t), rate(*(lambda w: (w[0], w[0] + w[1]))(f["want"].get(t, (0, 0)))))
            for t in types
        ]
        n, worst = _dev(pairs, 100)
        out.append(Deviation(f"approval on-time by item type ({days} d)", n, len(types), worst))

    estates, groups, city = property_independent(wh)
    got, mart, mart_city = property_marts(wh)
    per100 = [(got.get(k, (None,) * 5)[2], e["rate"]) for k, e in estates.items()]
    yoy = [(got.get(k, (None,) * 5)[3], e["yoy"]) for k, e in estates.items()]
    for year, g in groups.items():
        m = mart.get(year, (None,) * 12)
        per100 += [(m[6], g["with"]["pooled"]), (m[7], g["without"]["pooled"])]
        per100 += [(m[8], g["with"]["mean"]), (m[9], g["without"]["mean"])]
        yoy += [(m[10], g["with"]["yoy"]), (m[11], g["without"]["yoy"])]
    for year, c in city.items():
        m = mart_city.get(year, (None,) * 4)
        per100.append((m[2], c["rate"]))
        yoy.append((m[3], c["yoy"]))
    n, worst = _dev(per100, 1)
    out.append(Deviation("complaints per 100 households (estate, mechanism, city)", n, n, worst))
    n, worst = _dev(yoy, 100)
    out.append(Deviation("complaints YoY change (estate, mechanism, city)", n, n, worst))

    f = points_units(wh)
    agree = [k for k in f["want"] if f["got"].get(k, (None,))[0] == f["want"][k][0]]
    n, worst = _dev([(f["got"][k][1], f["want"][k][1]) for k in agree], 1)
    out.append(
        Deviation(
            "points per subject, month and metric",
            n,
            len(f["got"]),
            worst,
            f"{int(sum(f['free'].values()))} units of events in no grid from raw",
        )
    )

    f = check_in_by_community(wh)
    codes = [c for c in f["want"] if f["got"].get(c, (None,))[0] == f["want"][c][0]]
    n, worst = _dev([(f["got"][c][2], rate(f["want"][c][1], f["want"][c][0])) for c in codes], 100)
    out.append(
        Deviation(
            "party check-in rate by community",
            n,
            len(set(f["want"]) | {c for c, (m, _, _) in f["got"].items() if m}),
            worst,
            f"{f['left_out']} of {f['in_service']} members' home not read unambiguously from raw",
        )
    )
    return out
