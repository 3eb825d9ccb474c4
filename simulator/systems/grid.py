"""网格化社会治理系统: wg_grid, wg_wgy, wg_syrk, wg_sj, wg_sjlz."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator import dirt
from simulator.contract import table
from simulator.effects import ON_TIME_BASE, certified_grids, on_time_durations
from simulator.geography import points_in_grids
from simulator.incidents import place_text
from simulator.names import sample_given_names, sample_surnames
from simulator.systems import person_fields as pf
from simulator.timegen import add_seconds, fmt_date, fmt_local, office_times
from simulator.world import World, dirty_column, grid_lookup

SYSTEM = "grid"
STEPS = ["上报", "立案", "派遣", "处置", "反馈", "核查", "结案", "评价"]
WHISTLE_STEPS = ["上报", "立案", "吹哨", "报到", "派遣", "处置", "反馈", "核查", "结案", "评价"]
STATUS = ["发现", "上报", "立案", "派遣", "处置", "反馈", "核查", "结案", "评价"]


def _cols(name: str, df: pd.DataFrame) -> pd.DataFrame:
    return df[table(SYSTEM, name).columns]


def build_grid(world: World) -> dict[str, pd.DataFrame]:
    workers = _workers(world)
    out = {"wg_grid": _cols("wg_grid", _grids(world, workers)), "wg_wgy": _cols("wg_wgy", workers)}
    out["wg_syrk"] = _cols("wg_syrk", _residents(world))
    events, steps = _events(world, workers)
    out["wg_sj"], out["wg_sjlz"] = _cols("wg_sj", events), _cols("wg_sjlz", steps)
    return out


def _workers(world: World) -> pd.DataFrame:
    rng = world.rng("grid", "workers")
    persons = world.pop.persons
    grids = world.geo.grids["grid_code"].to_numpy()
    n = int(min(round(len(grids) * 1.05), max(20, 0.1 * world.n_residents)))
    ages = persons["age"].to_numpy()
    cand = np.flatnonzero((ages >= 22) & (ages <= 58))
    rows = rng.choice(cand, size=min(n, len(cand)), replace=False)
    n = len(rows)
    p = persons.iloc[rows]
    serving = min(n, len(grids))
    wgbm = np.empty(n, dtype=object)
    wgbm[:serving] = grids[rng.permutation(len(grids))[:serving]]
    wgbm[serving:] = grids[rng.integers(0, len(grids), size=n - serving)]
    zt = np.where(np.arange(n) < serving, "在岗", "离岗")
    keys = np.array([f"WGY{i:06d}" for i in range(1, n + 1)], dtype=object)
    start = office_times(rng, n, world.start, world.end)
    out = pd.DataFrame(
        {
            "wgy_id": keys,
            "xm": p["name"].to_numpy(),
            "sfzh": p["id_no"].to_numpy(),
            "sjhm": p["phone"].to_numpy(),
            "wgbm": wgbm,
            "rylx": np.where(rng.random(n) < 0.7, "专职", "兼职"),
            "sgzs": rng.random(n) < 0.35,
            "rzrq": fmt_date(start - (rng.integers(0, 3000, size=n)).astype("timedelta64[D]")),
            "zt": zt,
            "update_time": fmt_local(start),
        }
    )
    world.add_truth(SYSTEM, "wg_wgy", keys, person_id=p["person_id"].to_numpy(), grid_code=wgbm)
    return out


def _grids(world: World, workers: pd.DataFrame) -> pd.DataFrame:
    rng = world.fixed_rng("grid", "grids")
    lk = grid_lookup(world).reset_index(drop=True)
    persons = world.pop.persons
    rks = persons.groupby("grid_code").size()
    hs = persons.drop_duplicates("household").groupby("grid_code").size()
    on_duty = workers[workers["zt"] == "在岗"].drop_duplicates("wgbm").set_index("wgbm")["wgy_id"]
    n = len(lk)
    out = pd.DataFrame(
        {
            "wgbm": lk["grid_code"],
            "wgmc": lk["wgmc"],
            "sqbm": lk["community_code"],
            "sqmc": lk["community_name"],
            "jdbm": lk["jdbm"],
            "jdmc": lk["street_name"],
            "wglx": lk["wglx"],
            "hs": hs.reindex(lk["grid_code"]).fillna(0).astype(int).to_numpy(),
            "rks": rks.reindex(lk["grid_code"]).fillna(0).astype(int).to_numpy(),
            "wgy_id": on_duty.reindex(lk["grid_code"])
            .astype(object)
            .where(lambda s: s.notna(), None)
            .to_numpy(),
            "bj_wkt": lk["wkt"],
            "update_time": fmt_local(office_times(rng, n, world.start, world.end)),
        }
    )
    world.add_truth(SYSTEM, "wg_grid", out["wgbm"].to_numpy(), grid_code=out["wgbm"].to_numpy())
    return out


def _residents(world: World) -> pd.DataFrame:
    rng = world.rng("grid", "residents")
    persons = world.pop.persons
    cur = persons[persons["in_syrk"].to_numpy()]
    old = cur[cur["moved"].to_numpy()]
    n_cur, n_old = len(cur), len(old)
    idx = np.concatenate([np.arange(n_cur), np.flatnonzero(cur["moved"].to_numpy())])
    p = cur.iloc[idx]
    is_old = np.arange(len(idx)) >= n_cur
    n = len(idx)
    order = rng.permutation(n)  # rkid order unrelated to person order
    keys = np.empty(n, dtype=object)
    keys[order] = [f"RK{world.seed % 100:02d}{i:010d}" for i in range(1, n + 1)]
    estate_idx = np.where(is_old, p["old_estate_idx"].to_numpy(), p["estate_idx"].to_numpy())
    ld = np.where(is_old, p["old_ld"].to_numpy(), p["ld"].to_numpy())
    dy = np.where(is_old, p["old_dy"].to_numpy(), p["dy"].to_numpy())
    fh = np.where(is_old, p["old_fh"].to_numpy(), p["fh"].to_numpy())
    wgbm = np.where(is_old, p["old_grid_code"].to_numpy(), p["grid_code"].to_numpy())
    reg = office_times(rng, n, world.start, world.end)
    # The old row was registered and soft-deleted before the current one was registered.
    reg[is_old] = reg[is_old] - (rng.integers(400, 2000, size=n_old) * 86400).astype("timedelta64[s]")
    upd = add_seconds(reg, rng.integers(0, 200 * 86400, size=n))
    sjhm = p["phone"].to_numpy().copy()
    sjhm[rng.random(n) < 0.04] = None
    births = p["birth"].to_numpy().astype("datetime64[D]")
    out = pd.DataFrame(
        {
            "rkid": keys,
            "xm": pf.names(world, SYSTEM, "wg_syrk", keys, p["name"].to_numpy()),
            "sfzh": pf.id_numbers(world, SYSTEM, "wg_syrk", "sfzh", keys, p["id_no"].to_numpy()),
            "sjhm": pf.phones(world, SYSTEM, "wg_syrk", "sjhm", keys, sjhm),
            "xb": p["sex"].to_numpy(),
            "csrq": fmt_date(births),
            "jzdz": pf.addresses(world, SYSTEM, "wg_syrk", "jzdz", keys, estate_idx, ld, dy, fh),
            "wgbm": wgbm,
            "jzlx": p["jzlx"].to_numpy(),
            "tsbq": p["tsbq"].to_numpy(),
            "djsj": fmt_local(reg),
            "sfsc": is_old.astype(int),
            "update_time": fmt_local(upd),
        }
    )
    out = out.iloc[np.argsort(keys, kind="stable")].reset_index(drop=True)
    est_id = world.geo.estates["estate_id"].to_numpy()[estate_idx]
    world.add_truth(
        SYSTEM, "wg_syrk", keys, person_id=p["person_id"].to_numpy(), grid_code=wgbm, estate_id=est_id
    )
    return out


def _on_time_effect(
    world: World, inc: pd.DataFrame, workers: pd.DataFrame, wgbm: np.ndarray, closed: np.ndarray, lift: float
) -> np.ndarray:
    """Durations with the certified-worker on-time effect (simulator.effects); records the truth."""
    certified = certified_grids(workers)
    treated = np.isin(inc["grid_code"].to_numpy().astype(str), list(certified))
    has_code = pd.notna(wgbm)
    limit_s = inc["limit_hours"].to_numpy().astype(np.int64) * 3600
    took = on_time_durations(world.rng("effects", "on_time"), limit_s, treated, has_code, closed, lift)
    on_time = closed & (took <= limit_s)
    truth = {
        "definition": "share of closed grid events (jasj not null) with jasj <= clsx; certified grid = "
        "a wg_wgy worker with zt=在岗, rylx=专职, sgzs=true",
        "lift": lift,
        "base_on_time_share": ON_TIME_BASE,
        "certified_grids": len(certified),
        "grids": int(len(world.geo.grids)),
    }
    for label, m in (("certified", treated), ("other", ~treated)):
        for scope, s in (("all", np.ones_like(has_code)), ("with_grid_code", has_code)):
            c = closed & m & s
            truth[f"closed_{label}_{scope}"] = int(c.sum())
            truth[f"on_time_{label}_{scope}"] = int((on_time & c).sum())
    world.effect_truth["certified_worker_on_time"] = truth
    return took


def _events(world: World, workers: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = world.rng("grid", "events")
    inc = world.incidents
    inc = inc[inc["channels"].str.contains("g")].reset_index(drop=True)
    n = len(inc)
    t = inc["time"].to_numpy() + rng.integers(-7200, 7200, size=n).astype("timedelta64[s]")
    day = np.datetime_as_string(t.astype("datetime64[D]"), unit="D")
    keys = np.array([f"SJ{d.replace('-', '')}{i:07d}" for i, d in enumerate(day, start=1)], dtype=object)
    persons = world.pop.persons
    reporter = inc["reporter"].to_numpy()
    sjly = rng.choice(
        np.array(["网格员巡查", "居民上报", "12345转办", "视频发现", "部门移交"], dtype=object),
        size=n,
        p=[0.45, 0.25, 0.15, 0.1, 0.05],
    )
    by_resident = (sjly == "居民上报") & (reporter >= 0)
    rep = np.where(by_resident, reporter, 0)
    sbr_xm = np.where(by_resident, persons["name"].to_numpy()[rep], None)
    sbr_dh = np.where(by_resident, persons["phone"].to_numpy()[rep], None)
    place = place_text(world, inc)
    minor = inc["minor_name"].to_numpy()
    verbs = ["巡查发现", "居民反映", "现场发现", "群众来电称"]
    sjms = np.array(
        [f"{verbs[i % 4]}{pl}{m}，需处置。" for i, (pl, m) in enumerate(zip(place, minor))], dtype=object
    )
    lbdm = inc["category_code"].to_numpy().astype(object)
    known = set(world.categories["category_code"])
    unknown_codes = [c for c in ["0199", "1190", "9901", "0850", "1299"] if c not in known]
    lbdm, _ = dirty_column(
        world,
        SYSTEM,
        "wg_sj",
        "lbdm",
        "category",
        lbdm,
        keys,
        lambda v, k, i: unknown_codes[i % len(unknown_codes)] if k == "category_unknown_code" else "",
    )
    jd, wd = points_in_grids(rng, world.geo.grids, inc["grid_code"].to_numpy())
    no_point = rng.random(n) < 0.08
    jd, wd = np.where(no_point, np.nan, jd), np.where(no_point, np.nan, wd)
    wgbm = inc["grid_code"].to_numpy().copy()
    wgbm[rng.random(n) < 0.05] = None
    depts = world.departments
    czbm = depts["uscc"].to_numpy()[inc["dept_idx"].to_numpy()]
    czbm = np.where(rng.random(n) < 0.1, None, czbm)
    deadline = add_seconds(t, inc["limit_hours"].to_numpy() * 3600)
    age_days = (np.datetime64(world.end) - t.astype("datetime64[D]")).astype(int)
    final = np.where(age_days > 20, rng.choice([7, 8], size=n, p=[0.4, 0.6]), rng.integers(1, 9, size=n))
    zt = np.array(STATUS, dtype=object)[final]
    took = (inc["limit_hours"].to_numpy() * 3600 * rng.uniform(0.2, 1.4, size=n)).astype(np.int64)
    closed = final >= 7
    lift = world.effects.certified_worker_on_time_lift
    if lift > 0 and workers is not None:
        took = _on_time_effect(world, inc, workers, wgbm, closed, lift)
    jasj = np.where(closed, add_seconds(t, took), np.datetime64("NaT"))
    myd = np.where(
        final == 8,
        rng.choice(np.array(["满意", "基本满意", "不满意"], dtype=object), size=n, p=[0.7, 0.2, 0.1]),
        None,
    )
    myd, _ = dirty_column(
        world,
        SYSTEM,
        "wg_sj",
        "myd",
        "satisfaction",
        myd,
        keys,
        lambda v, k, i: dirt.MYD_CODES[v],
        eligible=pd.notna(myd),
    )
    # Workflow steps up to the current status.
    whistle = rng.random(n) < 0.1
    n_steps = np.where(whistle, final + 2 * (final >= 2), final).astype(int)
    n_steps = np.maximum(n_steps, 1)
    step_names = np.array(STEPS, dtype=object)
    whistle_names = np.array(WHISTLE_STEPS, dtype=object)
    ev = np.repeat(np.arange(n), n_steps)
    pos = np.arange(len(ev)) - np.repeat(np.cumsum(n_steps) - n_steps, n_steps)
    hj = np.where(
        whistle[ev],
        whistle_names[np.minimum(pos, len(WHISTLE_STEPS) - 1)],
        step_names[np.minimum(pos, len(STEPS) - 1)],
    )
    extra = rng.random(len(ev)) < 0.03
    hj = np.where(extra & (pos > 1), rng.choice(np.array(["退回", "延期"], dtype=object), size=len(ev)), hj)
    span = np.maximum((jasj - t).astype("timedelta64[s]").astype(np.int64), 3600)
    span = np.where(closed, span, 86400)
    czsj = add_seconds(
        t[ev], (span[ev] * (pos + rng.random(len(ev)) * 0.5) / (n_steps[ev] + 1)).astype(np.int64)
    )
    grid_lk = grid_lookup(world)
    grid_units = grid_lk["wgmc"].reindex(inc["grid_code"].to_numpy()).to_numpy()
    dept_names = depts["dept_name"].to_numpy()[inc["dept_idx"].to_numpy()]
    at_grid = np.isin(hj, ["上报", "核查", "评价", "反馈"])
    czdw = np.where(at_grid, grid_units[ev], dept_names[ev])
    m = len(ev)
    czr = np.array(
        [
            s + g
            for s, g in zip(
                sample_surnames(rng, m, world.names),
                sample_given_names(rng, rng.choice(np.array(["男", "女"]), size=m), world.names),
            )
        ],
        dtype=object,
    )
    bz = np.where(rng.random(m) < 0.3, "已按要求处理", None)
    steps = pd.DataFrame(
        {
            "lzid": [f"{keys[e]}{p + 1:02d}" for e, p in zip(ev, pos)],
            "sjbh": keys[ev],
            "hj": hj,
            "czdw": czdw,
            "czr": czr,
            "czsj": fmt_local(czsj),
            "bz": bz,
        }
    )
    last = pd.Series(czsj).groupby(ev).max().to_numpy()
    events = pd.DataFrame(
        {
            "sjbh": keys,
            "sjly": sjly,
            "lbdm": lbdm,
            "sjms": sjms,
            "fsdz": place,
            "jd": jd,
            "wd": wd,
            "wgbm": wgbm,
            "sbr_xm": sbr_xm,
            "sbr_dh": sbr_dh,
            "czbm_uscc": czbm,
            "zt": zt,
            "sbsj": fmt_local(t),
            "clsx": fmt_local(deadline),
            "jasj": fmt_local(jasj.astype("datetime64[s]")),
            "myd": myd,
            "update_time": fmt_local(np.maximum(last, t).astype("datetime64[s]")),
        }
    )
    world.add_truth(
        SYSTEM,
        "wg_sj",
        keys,
        grid_code=inc["grid_code"].to_numpy(),
        incident_id=inc["incident_id"].to_numpy(),
        org_id=np.where(pd.notna(czbm), depts["uscc"].to_numpy()[inc["dept_idx"].to_numpy()], None),
        estate_id=world.geo.estates["estate_id"].to_numpy()[inc["estate_idx"].to_numpy()],
    )
    return events, steps
