"""智慧党建系统: dj_org, dj_dy, dj_bd, dj_fwjl, dj_shyk."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator import dirt
from simulator.contract import table
from simulator.ids import legacy_org_code
from simulator.names import sample_given_names, sample_surnames
from simulator.people import REFERENCE_DAY, _phones
from simulator.systems import person_fields as pf
from simulator.timegen import add_seconds, fmt_date, fmt_local, office_times
from simulator.world import World, dirty_column

SYSTEM = "party"


def _cols(name: str, df: pd.DataFrame) -> pd.DataFrame:
    return df[table(SYSTEM, name).columns]


def build_party(world: World) -> dict[str, pd.DataFrame]:
    orgs = _orgs(world)
    members, member_rows = _members(world, orgs)
    out = {"dj_org": _cols("dj_org", orgs), "dj_dy": _cols("dj_dy", members)}
    out["dj_bd"] = _cols("dj_bd", _reports(world, members, member_rows))
    out["dj_fwjl"] = _cols("dj_fwjl", _services(world, members, member_rows))
    out["dj_shyk"] = _cols("dj_shyk", _meetings(world, orgs))
    return out


def _orgs(world: World) -> pd.DataFrame:
    rng = world.fixed_rng("party", "orgs")
    geo = world.geo
    rows: list[dict] = []

    def add(
        org_type: str,
        parent: str | None,
        qhdm: str | None,
        grid: str | None,
        host: str | None,
        host_true: str | None,
        name: str,
    ) -> str:
        org_id = f"DZZ{len(rows) + 1:07d}"
        rows.append(
            {
                "org_id": org_id,
                "org_name": name,
                "org_type": org_type,
                "parent_id": parent,
                "qhdm": qhdm,
                "grid": grid,
                "host_uscc": host,
                "host_true": host_true,
            }
        )
        return org_id

    street_org = {
        s.street_code: add(
            "街道党工委", None, s.street_code, None, None, None, f"中共{s.district_name}{s.name}工作委员会"
        )
        for s in geo.streets.itertuples()
    }
    comm_org = {}
    for c in geo.communities.itertuples():
        kind = rng.choice(["社区党委", "社区党总支", "社区党支部"], p=[0.6, 0.3, 0.1])
        suffix = {"社区党委": "委员会", "社区党总支": "总支部委员会", "社区党支部": "支部委员会"}[kind]
        comm_org[c.community_code] = add(
            kind, street_org[c.street_code], c.community_code, None, None, None, f"中共{c.name}{suffix}"
        )
    grid_org = {}
    for g in geo.grids.itertuples():
        if rng.random() < 0.4:
            grid_org[g.grid_code] = add(
                "网格党支部",
                comm_org[g.community_code],
                g.community_code,
                g.grid_code,
                None,
                None,
                f"中共{g.wgmc}支部委员会",
            )
    companies = geo.companies.set_index("company_idx")
    for e in geo.estates[geo.estates["company_idx"] >= 0].itertuples():
        if rng.random() < 0.5:
            uscc = companies.at[e.company_idx, "uscc"]
            eo = add(
                "小区党支部",
                comm_org[e.community_code],
                e.community_code,
                e.grid_code,
                uscc,
                uscc,
                f"中共{e.name}小区支部委员会",
            )
            if rng.random() < 0.3:
                add("楼栋党小组", eo, e.community_code, e.grid_code, None, None, f"{e.name}1栋党小组")
    unit_orgs = []
    for d in world.departments.itertuples():
        unit_orgs.append(
            add("机关党支部", None, None, None, d.uscc, d.uscc, f"中共{d.dept_name}机关支部委员会")
        )
    for c in companies.itertuples():
        unit_orgs.append(add("企业党支部", None, None, None, c.uscc, c.uscc, f"中共{c.name}支部委员会"))
    for f in world.firms.head(40).itertuples():
        unit_orgs.append(add("非公党支部", None, None, None, f.uscc, f.uscc, f"中共{f.name}支部委员会"))
    orgs = pd.DataFrame(rows)
    n = len(orgs)
    keys = orgs["org_id"].to_numpy()
    orgs["wgmc"] = pf.grid_texts(world, SYSTEM, "dj_org", "wgmc", keys, orgs["grid"].to_numpy())
    hosts = orgs["host_uscc"].to_numpy(dtype=object)
    has_letters = np.array([isinstance(h, str) and any(c.isalpha() for c in h) for h in hosts], dtype=bool)
    orgs["host_uscc"], _ = dirty_column(
        world,
        SYSTEM,
        "dj_org",
        "host_uscc",
        "host_uscc",
        hosts,
        keys,
        lambda v, k, i: legacy_org_code(v) if k == "uscc_legacy_org_code" else v.lower(),
        {"uscc_lowercase": has_letters},
        eligible=pd.notna(hosts),
    )
    sex = rng.choice(np.array(["男", "女"], dtype=object), size=n)
    orgs["sj_xm"] = [
        s + g for s, g in zip(sample_surnames(rng, n, world.names), sample_given_names(rng, sex, world.names))
    ]
    lxdh = _phones(rng, n)
    lxdh[rng.random(n) < 0.1] = None
    orgs["lxdh"] = lxdh
    orgs["gxsj"] = fmt_local(office_times(rng, n, world.start, world.end))
    world.add_truth(
        SYSTEM, "dj_org", keys, grid_code=orgs["grid"].to_numpy(), org_id=orgs["host_true"].to_numpy()
    )
    orgs.attrs["unit_orgs"] = unit_orgs
    orgs.attrs["grid_org"] = grid_org
    orgs.attrs["comm_org"] = comm_org
    return orgs


def _members(world: World, orgs: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    rng = world.rng("party", "members")
    persons = world.pop.persons
    adult = np.flatnonzero(persons["age"].to_numpy() >= 20)
    n = max(20, int(0.07 * world.n_residents))
    chosen = rng.choice(adult, size=min(n, len(adult)), replace=False)
    uy = np.flatnonzero((persons["ethnic"].to_numpy() == "维吾尔族") & (persons["age"].to_numpy() >= 20))
    chosen = np.unique(np.concatenate([chosen, uy[:3]]))
    rows = chosen[rng.permutation(len(chosen))]
    p = persons.iloc[rows]
    n = len(rows)
    keys = np.array([f"DY{i:08d}" for i in range(1, n + 1)], dtype=object)
    employed = (rng.random(n) < 0.45) & (p["age"].to_numpy() < 60)
    unit_orgs = np.array(orgs.attrs["unit_orgs"], dtype=object)
    org_by_id = orgs.set_index("org_id")
    grid_org, comm_org = orgs.attrs["grid_org"], orgs.attrs["comm_org"]
    local_org = np.array([grid_org.get(g, comm_org[g[:12]]) for g in p["grid_code"]], dtype=object)
    unit = unit_orgs[rng.integers(0, len(unit_orgs), size=n)]
    org_id = np.where(employed, unit, local_org)
    host_names = (
        org_by_id["org_name"]
        .reindex(unit)
        .str.replace("^中共", "", regex=True)
        .str.replace("(机关)?支部委员会$", "", regex=True)
        .to_numpy()
    )
    gzdw = np.where(employed, host_names, None)
    gzdw[~employed & (rng.random(n) < 0.3)] = "退休"

    births = p["birth"].to_numpy().astype("datetime64[D]")
    birth_dates = pd.to_datetime(births).date
    csrq, _ = dirty_column(
        world,
        SYSTEM,
        "dj_dy",
        "csrq",
        "birth_date",
        fmt_date(births),
        keys,
        lambda v, k, i: dirt.dirty_date(birth_dates[i], k),
    )
    xb, _ = dirty_column(
        world, SYSTEM, "dj_dy", "xb", "sex", p["sex"].to_numpy(), keys, lambda v, k, i: dirt.dirty_sex(v, k)
    )
    mz, _ = dirty_column(
        world,
        SYSTEM,
        "dj_dy",
        "mz",
        "ethnic",
        p["ethnic"].to_numpy(),
        keys,
        lambda v, k, i: dirt.dirty_ethnic(v, k),
    )
    join_age = rng.integers(18, 45, size=n)
    rdrq = births + (join_age * 365).astype("timedelta64[D]")
    rdrq = np.minimum(rdrq, REFERENCE_DAY - np.timedelta64(30, "D"))
    members = pd.DataFrame(
        {
            "dy_id": keys,
            "xm": pf.names(world, SYSTEM, "dj_dy", keys, p["name"].to_numpy()),
            "xb": xb,
            "sfzh": pf.id_numbers(world, SYSTEM, "dj_dy", "sfzh", keys, p["id_no"].to_numpy()),
            "csrq": csrq,
            "mz": mz,
            "xl": np.where(
                rng.random(n) < 0.9,
                rng.choice(
                    np.array(["高中", "大专", "本科", "硕士研究生", "初中"], dtype=object),
                    size=n,
                    p=[0.2, 0.25, 0.4, 0.1, 0.05],
                ),
                None,
            ),
            "rylb": np.where(rng.random(n) < 0.95, "正式党员", "预备党员"),
            "rdrq": fmt_date(rdrq),
            "org_id": org_id,
            "gzdw": gzdw,
            "sjhm": pf.phones(world, SYSTEM, "dj_dy", "sjhm", keys, p["phone"].to_numpy()),
            "jtzz": pf.addresses(
                world,
                SYSTEM,
                "dj_dy",
                "jtzz",
                keys,
                p["estate_idx"].to_numpy(),
                p["ld"].to_numpy(),
                p["dy"].to_numpy(),
                p["fh"].to_numpy(),
            ),
            "sfldy": rng.random(n) < 0.05,
            "djzt": rng.choice(
                np.array(["正常", "失联", "停止党籍", "死亡"], dtype=object),
                size=n,
                p=[0.95, 0.02, 0.01, 0.02],
            ),
            "gxsj": fmt_local(office_times(rng, n, world.start, world.end)),
            "_employed": employed,
        }
    )
    world.add_truth(
        SYSTEM,
        "dj_dy",
        keys,
        person_id=p["person_id"].to_numpy(),
        grid_code=p["grid_code"].to_numpy(),
        estate_id=p["estate_id"].to_numpy(),
    )
    return members, rows


def _reports(world: World, members: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    rng = world.rng("party", "reports")
    persons = world.pop.persons
    sel = np.flatnonzero(members["_employed"].to_numpy() & (rng.random(len(members)) < 0.7))
    p = persons.iloc[rows[sel]]
    n = len(sel)
    keys = np.array([f"BD{i:08d}" for i in range(1, n + 1)], dtype=object)
    comm = world.geo.communities.set_index("community_code")
    cname = comm["name"].reindex(p["community_code"]).to_numpy()
    cshort = comm["short"].reindex(p["community_code"]).to_numpy()
    czd_sq, _ = dirty_column(
        world,
        SYSTEM,
        "dj_bd",
        "czd_sq",
        "community_text",
        cname,
        keys,
        lambda v, k, i: dirt.community_text(cname[i], cshort[i], k),
    )
    wgmc = pf.grid_texts(world, SYSTEM, "dj_bd", "wgmc", keys, p["grid_code"].to_numpy(), with_dirt=False)
    wgmc[rng.random(n) < 0.2] = None
    sfzh = p["id_no"].to_numpy().copy()
    sfzh[rng.random(n) < 0.4] = None
    bd_time = office_times(rng, n, world.start, world.end)
    out = pd.DataFrame(
        {
            "bd_id": keys,
            "dy_id": members["dy_id"].to_numpy()[sel],
            "xm": p["name"].to_numpy(),
            "sfzh": sfzh,
            "czd_sq": czd_sq,
            "czd_dz": pf.addresses(
                world,
                SYSTEM,
                "dj_bd",
                "czd_dz",
                keys,
                p["estate_idx"].to_numpy(),
                p["ld"].to_numpy(),
                p["dy"].to_numpy(),
                p["fh"].to_numpy(),
                with_dirt=False,
            ),
            "wgmc": wgmc,
            "bdrq": fmt_date(bd_time),
            "zt": np.where(rng.random(n) < 0.9, "已报到", "已注销"),
            "gxsj": fmt_local(add_seconds(bd_time, rng.integers(0, 30 * 86400, size=n))),
        }
    )
    world.add_truth(
        SYSTEM,
        "dj_bd",
        keys,
        person_id=p["person_id"].to_numpy(),
        grid_code=p["grid_code"].to_numpy(),
        estate_id=p["estate_id"].to_numpy(),
    )
    return out


def _services(world: World, members: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    rng = world.rng("party", "services")
    persons = world.pop.persons
    counts = rng.poisson(1.5, size=len(members))
    idx = np.repeat(np.arange(len(members)), counts)
    p = persons.iloc[rows[idx]]
    n = len(idx)
    keys = np.array([f"JL{i:09d}" for i in range(1, n + 1)], dtype=object)
    grids = p["grid_code"].to_numpy().copy()
    grids[rng.random(n) < 0.15] = None
    when = office_times(rng, n, world.start, world.end)
    hours = np.round(rng.choice([0.5, 1.0, 1.5, 2.0, 3.0, 4.0], size=n), 1)
    out = pd.DataFrame(
        {
            "jl_id": keys,
            "dy_id": members["dy_id"].to_numpy()[idx],
            "hdlx": rng.choice(
                np.array(["文明创建", "矛盾化解", "小区治理", "志愿服务", "为群众办实事"], dtype=object),
                size=n,
            ),
            "wgmc": pf.grid_texts(world, SYSTEM, "dj_fwjl", "wgmc", keys, grids, with_dirt=False),
            "fwrq": fmt_date(when),
            "fwsc": hours,
            "jf": (hours * 2).astype(int),
            "gxsj": fmt_local(add_seconds(when, rng.integers(3600, 7 * 86400, size=n))),
        }
    )
    world.add_truth(SYSTEM, "dj_fwjl", keys, person_id=p["person_id"].to_numpy(), grid_code=grids)
    return out


def _meetings(world: World, orgs: pd.DataFrame) -> pd.DataFrame:
    rng = world.rng("party", "meetings")
    per_org = int(min(24, max(2, round(4 * world.factor**0.35))))
    idx = np.repeat(np.arange(len(orgs)), per_org)
    n = len(idx)
    when = office_times(rng, n, world.start, world.end)
    expected = rng.integers(5, 60, size=n)
    return pd.DataFrame(
        {
            "hy_id": [f"HY{i:09d}" for i in range(1, n + 1)],
            "org_id": orgs["org_id"].to_numpy()[idx],
            "hylx": rng.choice(
                np.array(["支部党员大会", "支部委员会", "党小组会", "党课"], dtype=object), size=n
            ),
            "jxsj": fmt_local(when),
            "ydrs": expected,
            "sdrs": expected - rng.binomial(expected, 0.1),
            "gxsj": fmt_local(add_seconds(when, rng.integers(3600, 3 * 86400, size=n))),
        }
    )
