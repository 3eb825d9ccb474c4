"""12345 热线: tickets, delivered as daily JSONL files with the contract's faults."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.contract import table
from simulator.dirt import count_files, title_only_applicability, title_only_name
from simulator.incidents import place_text
from simulator.timegen import add_seconds, fmt_local, office_times
from simulator.world import World, dirty_column, grid_lookup

SYSTEM = "hotline"
CONSULT_TOPICS = [
    "社保缴费咨询",
    "公积金提取咨询",
    "户籍办理咨询",
    "医保报销咨询",
    "入学政策咨询",
    "办事指南咨询",
]


def build_tickets(world: World) -> pd.DataFrame:
    rng = world.rng("hotline", "tickets")
    inc = world.incidents
    inc = inc[inc["channels"].str.contains("h")].reset_index(drop=True)
    repeat = rng.random(len(inc)) < 0.05
    src = np.concatenate([np.arange(len(inc)), np.flatnonzero(repeat)])
    is_repeat = np.arange(len(src)) >= len(inc)
    ti = inc.iloc[src].reset_index(drop=True)
    n_inc = len(ti)
    n_cons = max(10, int(0.4 * n_inc))
    n = n_inc + n_cons
    persons = world.pop.persons
    adults = np.flatnonzero(persons["age"].to_numpy() >= 18)
    cons_person = adults[rng.integers(0, len(adults), size=n_cons)]
    person = np.concatenate([np.where(ti["reporter"] >= 0, ti["reporter"], ti["person_idx"]), cons_person])
    anonymous = rng.random(n) < 0.15
    t_inc = add_seconds(
        ti["time"].to_numpy(), rng.integers(0, 86400, size=n_inc) + np.where(is_repeat, 3 * 86400, 0)
    )
    ldsj = np.concatenate([t_inc, office_times(rng, n_cons, world.start, world.end)])
    ldsj = np.minimum(ldsj, np.datetime64(str(world.end) + "T23:59:59"))
    order = np.argsort(ldsj, kind="stable")
    inv = np.empty(n, dtype=np.int64)
    inv[order] = np.arange(n)
    day = np.datetime_as_string(ldsj.astype("datetime64[D]"), unit="D")
    keys = np.empty(n, dtype=object)
    keys[order] = [f"GD{day[o].replace('-', '')}{i:07d}" for i, o in enumerate(order, start=1)]
    p = persons.iloc[person]
    place = np.concatenate([place_text(world, ti), np.full(n_cons, None, dtype=object)])
    minor = np.concatenate(
        [ti["minor_name"].to_numpy(), np.array(CONSULT_TOPICS, dtype=object)[rng.integers(0, 6, size=n_cons)]]
    )
    sqlx = np.concatenate(
        [
            rng.choice(np.array(["投诉", "求助", "举报"], dtype=object), size=n_inc, p=[0.6, 0.3, 0.1]),
            rng.choice(np.array(["咨询", "建议", "表扬"], dtype=object), size=n_cons, p=[0.8, 0.15, 0.05]),
        ]
    )
    nr = np.array(
        [
            f"市民来电反映：{pl}{m}，希望尽快处理。" if pl else f"市民{m}，已告知相关政策。"
            for pl, m in zip(place, minor)
        ],
        dtype=object,
    )
    lk = grid_lookup(world)
    inc_grid = np.concatenate([ti["grid_code"].to_numpy(), np.full(n_cons, None, dtype=object)])
    has_grid = pd.notna(inc_grid)
    g_rows = lk.reindex(np.where(has_grid, inc_grid, lk.index[0]))
    depts = world.departments
    dept = np.concatenate([ti["dept_idx"].to_numpy(), rng.integers(0, len(depts), size=n_cons)])
    dispatched = np.concatenate([np.ones(n_inc, bool), rng.random(n_cons) < 0.3])
    pdsj = np.where(dispatched, add_seconds(ldsj, rng.integers(600, 86400, size=n)), np.datetime64("NaT"))
    limit = np.concatenate([ti["limit_hours"].to_numpy(), np.full(n_cons, 72)])
    blsx = np.where(dispatched, add_seconds(ldsj, limit * 3600 + 86400), np.datetime64("NaT"))
    age_days = (np.datetime64(world.end) - ldsj.astype("datetime64[D]")).astype(int)
    closed = (age_days > 10) | (rng.random(n) < 0.5)
    bjsj = np.where(
        closed,
        add_seconds(ldsj, (limit * 3600 * rng.uniform(0.2, 1.3, size=n)).astype(np.int64)),
        np.datetime64("NaT"),
    )
    hfjg = np.where(
        closed,
        rng.choice(
            np.array(["满意", "基本满意", "不满意", "未回访"], dtype=object), size=n, p=[0.6, 0.2, 0.1, 0.1]
        ),
        None,
    )
    first_ticket = {}
    cfgd = np.full(n, None, dtype=object)
    inc_ids = np.concatenate([ti["incident_id"].to_numpy(), np.full(n_cons, None, dtype=object)])
    for i in range(n_inc):
        if not is_repeat[i]:
            first_ticket[inc_ids[i]] = keys[i]
    for i in np.flatnonzero(is_repeat):
        if rng.random() < 0.6:
            cfgd[i] = first_ticket[inc_ids[i]]
    last = np.where(closed, bjsj, np.where(dispatched, pdsj, ldsj)).astype("datetime64[s]")
    ldr_clean = np.where(anonymous, None, p["name"].to_numpy())
    surname, sex = p["surname"].to_numpy(), p["sex"].to_numpy()
    ldr, _ = dirty_column(
        world,
        SYSTEM,
        "tickets",
        "ldr",
        "caller_name",
        ldr_clean,
        keys,
        lambda v, k, i: title_only_name(surname[i], sex[i], i),
        title_only_applicability(ldr_clean),
        eligible=~anonymous,
    )
    tickets = pd.DataFrame(
        {
            "gdbh": keys,
            "ldsj": fmt_local(ldsj),
            "qd": rng.choice(
                np.array(["电话", "网站", "微信", "APP", "融媒体", "领导信箱"], dtype=object),
                size=n,
                p=[0.7, 0.06, 0.12, 0.07, 0.03, 0.02],
            ),
            "ldr": ldr,
            "lddh": np.where(anonymous & (rng.random(n) < 0.5), None, p["phone"].to_numpy()),
            "sqlx": sqlx,
            "sqlb": minor,
            "nr": nr,
            "dz": place,
            "jdmc": np.where(has_grid, g_rows["street_name"].to_numpy(), None),
            "sqmc": np.where(has_grid & (rng.random(n) < 0.8), g_rows["community_name"].to_numpy(), None),
            "cbdw": np.where(dispatched, depts["dept_name"].to_numpy()[dept], None),
            "pdsj": fmt_local(pdsj.astype("datetime64[s]")),
            "blsx": fmt_local(blsx.astype("datetime64[s]")),
            "bjsj": fmt_local(bjsj.astype("datetime64[s]")),
            "hfjg": hfjg,
            "cfgd": cfgd,
            "gxsj": fmt_local(last + np.timedelta64(60, "s")),
            "_day": day,
        }
    )
    tickets = tickets.iloc[order].reset_index(drop=True)
    world.add_truth(
        SYSTEM,
        "tickets",
        keys,
        person_id=np.where(anonymous, None, p["person_id"].to_numpy()),
        grid_code=inc_grid,
        incident_id=inc_ids,
        estate_id=np.concatenate(
            [
                world.geo.estates["estate_id"].to_numpy()[ti["estate_idx"].to_numpy()],
                np.full(n_cons, None, dtype=object),
            ]
        ),
        org_id=np.where(dispatched, depts["uscc"].to_numpy()[dept], None),
    )
    return tickets


def _line(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _cut_inside_field(line: str, record: dict, rng: np.random.Generator) -> str:
    """The line cut off inside a field's value (the free-text nr), not on a field boundary."""
    nr = record.get("nr") or ""
    start = line.find('"nr":"')
    if start < 0 or len(nr) < 2:
        return line[: max(5, len(line) // 2)]
    start += len('"nr":"')
    return line[: start + 1 + int(rng.integers(0, len(nr) - 1))]


def write_hotline(world: World, tickets: pd.DataFrame, landing: Path, history: Path) -> dict:
    """One JSONL per day of the span; duplicates, malformed lines and re-exported days as dirt.

    A malformed line is a ticket's line cut off inside a field value. Half of them (at least one) follow
    an intact copy of the same ticket; the others are the ticket's only line (its data exists only in
    the malformed line, so it can only reach the quarantine; it leaves the ground truth)."""
    rng = world.rng("hotline", "files")
    cfg = world.dirt
    out = landing / "hotline"
    out.mkdir(parents=True, exist_ok=True)
    cols = table(SYSTEM, "tickets").columns
    days = pd.date_range(world.start, world.end, freq="D").strftime("%Y-%m-%d").tolist()
    by_day = {d: g for d, g in tickets.groupby("_day", sort=True)}
    dup_rate = cfg.kind_rate("hotline_duplicate_ticket")
    bad_rate = cfg.kind_rate("hotline_malformed_line")
    busy = [d for d in days if d in by_day and len(by_day[d]) >= 2]
    n_re = count_files(cfg, "hotline_reexport", len(busy))
    reexport = (
        set(np.array(busy, dtype=object)[rng.choice(len(busy), size=min(n_re, len(busy)), replace=False)])
        if busy
        else set()
    )
    lines_total = dup_total = bad_total = 0
    dup_forced = twin_forced = unique_forced = False
    only_malformed: list[str] = []
    for d in days:
        g = by_day.get(d)
        records = [] if g is None else g[cols].to_dict("records")
        lines = [_line(r) for r in records]
        final: list[str] = []
        for rec, ln in zip(records, lines):
            is_dup = dup_rate > 0 and (rng.random() < dup_rate or not dup_forced)
            is_bad = bad_rate > 0 and (rng.random() < bad_rate or not (twin_forced and unique_forced))
            unique = False
            if is_bad and not is_dup and d not in reexport:
                unique = not unique_forced or (twin_forced and rng.random() < 0.5)
            if not unique:
                final.append(ln)
            if is_dup:
                final.append(ln)
                dup_total += 1
                dup_forced = True
            if is_bad:
                final.append(_cut_inside_field(ln, rec, rng))
                bad_total += 1
                if unique:
                    unique_forced = True
                    only_malformed.append(rec["gdbh"])
                else:
                    twin_forced = True
        text = "".join(x + "\n" for x in final)
        (out / f"{d}.jsonl").write_text(text, encoding="utf-8")
        lines_total += len(final)
        if d in reexport:
            keep = max(1, len(lines) * 2 // 3)
            earlier = history / "earlier" / "hotline" / f"{d}.jsonl"
            earlier.parent.mkdir(parents=True, exist_ok=True)
            earlier.write_text("".join(x + "\n" for x in lines[:keep]), encoding="utf-8")
    if only_malformed:  # no readable line holds these tickets: out of the ground truth
        lost = set(only_malformed)
        world.truth = [t[~((t["source_system"] == SYSTEM) & t["source_key"].isin(lost))] for t in world.truth]
        # nor in the dirt log: no delivered value of theirs carries a field's dirt
        world.log.frames = [
            f[~((f["source_system"] == SYSTEM) & (f["field"] != "_row") & f["source_key"].isin(lost))]
            for f in world.log.frames
        ]
    return {
        "files": len(days),
        "lines": lines_total,
        "duplicate_lines": dup_total,
        "malformed_lines": bad_total,
        "malformed_only_copy": len(only_malformed),
        "reexported_days": sorted(reexport),
    }
