"""社区便民服务平台 (HTTP API): life_items (526), sites, orders."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.contract import table
from simulator.geography import points_in_grids
from simulator.systems import person_fields as pf
from simulator.timegen import add_seconds, fmt_local, office_times
from simulator.world import World

SYSTEM = "services"
CATEGORIES = ["养老", "托幼", "康养", "助餐", "家政", "维修", "医疗", "教育", "法律", "文体", "就业", "助残"]
SERVICES = {
    "养老": ["上门助浴", "陪同就医", "居家照护", "适老化改造"],
    "托幼": ["托育照护", "四点半课堂", "亲子活动"],
    "康养": ["康复理疗", "健康讲座", "中医推拿"],
    "助餐": ["老年助餐", "送餐上门", "社区食堂就餐"],
    "家政": ["保洁", "保姆", "月嫂", "家电清洗"],
    "维修": ["水电维修", "管道疏通", "门窗维修", "家电维修"],
    "医疗": ["家庭医生签约", "上门护理", "慢病随访"],
    "教育": ["老年大学课程", "少儿编程", "书法班"],
    "法律": ["法律咨询", "人民调解", "法律援助"],
    "文体": ["广场舞培训", "乒乓球室", "图书借阅"],
    "就业": ["招聘会", "技能培训", "创业指导"],
    "助残": ["残疾人康复", "辅具租赁", "助残托养"],
}
SITE_TYPES = ["党群服务中心", "小区共享空间", "红立方服务之家", "社区食堂", "日间照料中心"]


def build_services(world: World) -> dict[str, pd.DataFrame]:
    sites = _sites(world)
    items = _life_items(world, sites)
    return {"life_items": items, "sites": sites, "orders": _orders(world, items)}


def _sites(world: World) -> pd.DataFrame:
    rng = world.fixed_rng("services", "sites")
    geo = world.geo
    rows = []
    for c in geo.communities.itertuples():
        grids = geo.grids[geo.grids["community_code"] == c.community_code]["grid_code"].to_numpy()
        kinds = ["党群服务中心"] + [t for t in SITE_TYPES[1:] if rng.random() < 0.45]
        for kind in kinds:
            g = grids[int(rng.integers(0, len(grids)))]
            rows.append((c.name, c.short, kind, g))
    n = len(rows)
    grid_codes = np.array([r[3] for r in rows], dtype=object)
    jd, wd = points_in_grids(rng, geo.grids, grid_codes)
    missing = rng.random(n) < 0.05
    roads = np.array(geo.roads, dtype=object)[rng.integers(0, len(geo.roads), size=n)]
    keys = np.array([f"ZD{i:05d}" for i in range(1, n + 1)], dtype=object)
    sites = pd.DataFrame(
        {
            "zdid": keys,
            "zdmc": [f"{r[0]}{r[2]}" if r[2] != "小区共享空间" else f"{r[1]}小区共享空间" for r in rows],
            "zdlx": [r[2] for r in rows],
            "dz": [f"{road}{num}号" for road, num in zip(roads, rng.integers(1, 300, size=n))],
            "sqmc": [r[0] for r in rows],
            "jd": np.where(missing, None, jd).astype(object),
            "wd": np.where(missing, None, wd).astype(object),
            "updatedAt": fmt_local(office_times(rng, n, world.start, world.end)),
        }
    )
    world.add_truth(SYSTEM, "sites", keys, grid_code=grid_codes)
    return sites[table(SYSTEM, "sites").columns]


def _life_items(world: World, sites: pd.DataFrame) -> pd.DataFrame:
    rng = world.fixed_rng("services", "life_items")
    n = 526
    providers = world.firms.head(60)
    cat = rng.integers(0, len(CATEGORIES), size=n)
    prov = rng.integers(0, len(providers), size=n)
    has_uscc = rng.random(n) < 0.8
    site_ids = sites["zdid"].to_numpy()
    fwzd = [
        sorted(site_ids[rng.choice(len(site_ids), size=int(rng.integers(1, 6)), replace=False)].tolist())
        for _ in range(n)
    ]
    names = [
        f"{SERVICES[CATEGORIES[c]][int(rng.integers(0, len(SERVICES[CATEGORIES[c]])))]}（{providers['short'].iat[p]}）"
        for c, p in zip(cat, prov)
    ]
    keys = np.array([f"FW{i:06d}" for i in range(1, n + 1)], dtype=object)
    uscc = np.where(has_uscc, providers["uscc"].to_numpy()[prov], None)
    items = pd.DataFrame(
        {
            "fwbm": keys,
            "fwmc": names,
            "fwlb": np.array(CATEGORIES, dtype=object)[cat],
            "gysmc": providers["name"].to_numpy()[prov],
            "gysUscc": uscc,
            "fwzd": fwzd,
            "sfzxyy": rng.random(n) < 0.6,
            "updatedAt": fmt_local(office_times(rng, n, world.start, world.end)),
        }
    )
    world.add_truth(SYSTEM, "life_items", keys, org_id=providers["uscc"].to_numpy()[prov])
    return items[table(SYSTEM, "life_items").columns]


def _orders(world: World, items: pd.DataFrame) -> pd.DataFrame:
    rng = world.rng("services", "orders")
    n = max(40, int(0.2 * world.n_residents))
    persons = world.pop.persons
    adults = np.flatnonzero(persons["age"].to_numpy() >= 18)
    who = adults[rng.integers(0, len(adults), size=n)]
    p = persons.iloc[who]
    xdsj = np.sort(office_times(rng, n, world.start, world.end))
    zt = rng.choice(np.array(["待服务", "已完成", "已取消"], dtype=object), size=n, p=[0.08, 0.85, 0.07])
    done = zt == "已完成"
    wcsj = np.where(done, add_seconds(xdsj, rng.integers(3600, 5 * 86400, size=n)), np.datetime64("NaT"))
    upd = np.where(done, wcsj, add_seconds(xdsj, rng.integers(60, 86400, size=n))).astype("datetime64[s]")
    pf_score = np.where(
        done & (rng.random(n) < 0.6), rng.choice([5, 4, 3, 2, 1], size=n, p=[0.7, 0.15, 0.08, 0.04, 0.03]), -1
    )
    keys = np.array([f"DD{i:09d}" for i in range(1, n + 1)], dtype=object)
    addr = pf.addresses(
        world,
        SYSTEM,
        "orders",
        "dz",
        keys,
        p["estate_idx"].to_numpy(),
        p["ld"].to_numpy(),
        p["dy"].to_numpy(),
        p["fh"].to_numpy(),
        with_dirt=False,
    )
    orders = pd.DataFrame(
        {
            "ddbh": keys,
            "fwbm": items["fwbm"].to_numpy()[rng.integers(0, len(items), size=n)],
            "xm": p["name"].to_numpy(),
            "dh": p["phone"].to_numpy(),
            "dz": np.where(rng.random(n) < 0.9, addr, None),
            "xdsj": fmt_local(xdsj),
            "wcsj": fmt_local(wcsj.astype("datetime64[s]")),
            "zt": zt,
            "pf": [int(s) if s > 0 else None for s in pf_score],
            "updatedAt": fmt_local(upd),
        }
    )
    world.add_truth(
        SYSTEM,
        "orders",
        keys,
        person_id=p["person_id"].to_numpy(),
        grid_code=p["grid_code"].to_numpy(),
        estate_id=p["estate_id"].to_numpy(),
    )
    return orders[table(SYSTEM, "orders").columns]
