"""政务服务一体化平台 (HTTP API): items (132), cases, evaluations."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.contract import table
from simulator.systems import person_fields as pf
from simulator.timegen import add_seconds, fmt_iso_offset, office_times
from simulator.world import World

SYSTEM = "approval"
ITEM_TYPES = [
    ("XK", "行政许可", 40),
    ("QR", "行政确认", 20),
    ("JF", "行政给付", 15),
    ("CJ", "行政裁决", 3),
    ("JL", "行政奖励", 4),
    ("QT", "其他行政权力", 10),
    ("GG", "公共服务", 40),
]
SUBJECTS = [
    "食品经营",
    "建筑工程施工",
    "排水",
    "城镇污水排入排水管网",
    "户外广告设置",
    "燃气经营",
    "医疗机构执业",
    "民办学校",
    "养老机构",
    "公共场所卫生",
    "药品零售",
    "临时占用城市道路",
    "城市绿地",
    "人力资源服务",
    "出租汽车经营",
    "最低生活保障",
    "特困人员供养",
    "残疾人两项补贴",
    "高龄津贴",
    "居住证",
    "房屋登记",
    "就业创业证",
    "社会保险参保",
    "失业保险金",
    "计划生育奖励",
    "退役军人优待",
    "见义勇为",
    "劳动争议",
    "医疗救助",
    "临时救助",
]
ACTIONS = {
    "XK": ["许可", "许可证核发", "许可变更", "许可延续"],
    "QR": ["资格确认", "认定", "登记"],
    "JF": ["发放", "给付", "申领"],
    "CJ": ["裁决"],
    "JL": ["表彰奖励", "奖励"],
    "QT": ["备案", "审核"],
    "GG": ["办理", "查询", "咨询服务", "申请"],
}


def build_approval(world: World) -> dict[str, pd.DataFrame]:
    items = _items(world)
    cases = _cases(world, items)
    return {"items": items, "cases": cases, "evaluations": _evaluations(world, cases)}


def _items(world: World) -> pd.DataFrame:
    rng = world.fixed_rng("approval", "items")
    depts = world.departments
    rows = []
    for code, kind, count in ITEM_TYPES:
        mains = np.sort(rng.choice(np.arange(1, 2000), size=count, replace=False))
        for main in mains:
            subject = SUBJECTS[int(rng.integers(0, len(SUBJECTS)))]
            action = ACTIONS[code][int(rng.integers(0, len(ACTIONS[code])))]
            d = int(rng.integers(0, len(depts)))
            sub = int(rng.integers(0, 3)) + 1
            sxbm = f"{code}{main:05d}{sub:03d}"
            fdsx = int(rng.choice([0, 5, 10, 15, 20, 30, 60]))
            jb = fdsx == 0
            cnsx = 0 if jb else max(1, int(fdsx * rng.uniform(0.3, 0.8)))
            level = (
                "市级"
                if depts.at[d, "dept_type"] == "市直部门"
                else str(rng.choice(["区级", "街道", "社区"], p=[0.6, 0.3, 0.1]))
            )
            rows.append(
                {
                    "sxbm": sxbm,
                    "ssbm": depts.at[d, "uscc"] + sxbm,
                    "sxmc": subject + action,
                    "sxlx": kind,
                    "bmUscc": depts.at[d, "uscc"],
                    "bmmc": depts.at[d, "dept_name"],
                    "xscj": level,
                    "fdsx": fdsx,
                    "cnsx": cnsx,
                    "bjlx": "即办件" if jb else "承诺件",
                    "wbsd": str(rng.choice(["全程网办", "一次办", "窗口办"], p=[0.5, 0.35, 0.15])),
                    "dxcs": int(rng.choice([0, 1, 2])) if not jb else 0,
                }
            )
    items = pd.DataFrame(rows)
    assert len(items) == 132 and items["sxbm"].is_unique
    items["updatedAt"] = fmt_iso_offset(office_times(rng, len(items), world.start, world.end))
    world.add_truth(SYSTEM, "items", items["sxbm"].to_numpy(), org_id=items["bmUscc"].to_numpy())
    return items[table(SYSTEM, "items").columns]


def _cases(world: World, items: pd.DataFrame) -> pd.DataFrame:
    rng = world.rng("approval", "cases")
    n = max(60, int(0.25 * world.n_residents))
    persons = world.pop.persons
    adults = np.flatnonzero(persons["age"].to_numpy() >= 18)
    natural = rng.random(n) < 0.7
    who = adults[rng.integers(0, len(adults), size=n)]
    firm = rng.integers(0, len(world.firms), size=n)
    item = rng.integers(0, len(items), size=n)
    slsj = office_times(rng, n, world.start, world.end)
    order = np.argsort(slsj, kind="stable")
    slsj, natural, who, firm, item = slsj[order], natural[order], who[order], firm[order], item[order]
    day = np.datetime_as_string(slsj.astype("datetime64[D]"), unit="D")
    keys = np.array([f"{d.replace('-', '')}{i:08d}" for i, d in enumerate(day, start=1)], dtype=object)
    p = persons.iloc[who]
    cnsx = items["cnsx"].to_numpy()[item]
    cnbj = add_seconds(slsj, (np.maximum(cnsx, 0) * 1.4 * 86400).astype(np.int64) + 3600)
    bjjg = rng.choice(
        np.array(["准予", "不予", "撤回", "补正中", "办理中"], dtype=object),
        size=n,
        p=[0.8, 0.05, 0.04, 0.03, 0.08],
    )
    done = np.isin(bjjg, ["准予", "不予", "撤回"])
    took = (np.maximum(cnsx, 0.2) * 86400 * rng.uniform(0.1, 1.1, size=n)).astype(np.int64)
    bjsj = np.where(done, add_seconds(slsj, took), np.datetime64("NaT"))
    upd = np.where(done, bjsj, add_seconds(slsj, rng.integers(60, 3 * 86400, size=n))).astype("datetime64[s]")
    ids = np.where(natural, p["id_no"].to_numpy(), world.firms["uscc"].to_numpy()[firm])
    sqrzjhm = pf.id_numbers(world, SYSTEM, "cases", "sqrzjhm", keys, ids, eligible=natural)
    addr = pf.addresses(
        world,
        SYSTEM,
        "cases",
        "sqrdz",
        keys,
        p["estate_idx"].to_numpy(),
        p["ld"].to_numpy(),
        p["dy"].to_numpy(),
        p["fh"].to_numpy(),
        with_dirt=False,
    )
    cases = pd.DataFrame(
        {
            "bjbh": keys,
            "sxbm": items["sxbm"].to_numpy()[item],
            "sqrlx": np.where(natural, "自然人", "法人"),
            "sqrmc": np.where(natural, p["name"].to_numpy(), world.firms["name"].to_numpy()[firm]),
            "sqrzjhm": sqrzjhm,
            "sqrdh": np.where(
                rng.random(n) < 0.95,
                np.where(natural, p["phone"].to_numpy(), world.firms["phone"].to_numpy()[firm]),
                None,
            ),
            "sqrdz": np.where(natural & (rng.random(n) < 0.7), addr, None),
            "qd": rng.choice(
                np.array(["窗口", "网上", "掌上", "自助终端"], dtype=object),
                size=n,
                p=[0.35, 0.35, 0.25, 0.05],
            ),
            "slsj": fmt_iso_offset(slsj),
            "cnbjsj": fmt_iso_offset(cnbj),
            "bjsj": fmt_iso_offset(bjsj.astype("datetime64[s]")),
            "bjjg": bjjg,
            "updatedAt": fmt_iso_offset(upd),
        }
    )
    world.add_truth(
        SYSTEM,
        "cases",
        keys,
        person_id=np.where(natural, p["person_id"].to_numpy(), None),
        grid_code=np.where(natural, p["grid_code"].to_numpy(), None),
        org_id=np.where(natural, None, world.firms["uscc"].to_numpy()[firm]),
    )
    cases.attrs["done_time"] = bjsj
    return cases[table(SYSTEM, "cases").columns]


def _evaluations(world: World, cases: pd.DataFrame) -> pd.DataFrame:
    rng = world.rng("approval", "evaluations")
    done = cases.attrs["done_time"]
    sel = np.flatnonzero(~np.isnat(done) & (rng.random(len(cases)) < 0.6))
    n = len(sel)
    pjsj = add_seconds(done[sel].astype("datetime64[s]"), rng.integers(60, 5 * 86400, size=n))
    pjdj = rng.choice([5, 4, 3, 2, 1], size=n, p=[0.75, 0.13, 0.06, 0.03, 0.03])
    texts = np.array(
        ["办事效率高", "工作人员态度好", "流程清楚", "等待时间较长", "材料要求不清楚"], dtype=object
    )
    pjnr = np.where(
        rng.random(n) < 0.4,
        texts[np.where(pjdj >= 4, rng.integers(0, 3, size=n), rng.integers(3, 5, size=n))],
        None,
    )
    return pd.DataFrame(
        {
            "pjid": [f"PJ{i:09d}" for i in range(1, n + 1)],
            "bjbh": cases["bjbh"].to_numpy()[sel],
            "pjdj": pjdj.astype(int),
            "pjnr": pjnr,
            "pjsj": fmt_iso_offset(pjsj),
        }
    )
