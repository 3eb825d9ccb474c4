"""The true residents: households at addresses in estates, with names, birth dates, ID numbers, phones.

Built vectorised with numpy so the city scale (2M residents) stays fast. Hard cases are planted on
purpose: twins at one address, 张伟/王芳 in the same grid, shared family phones, people who moved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulator.geography import Geography, building_grid
from simulator.ids import id_check_chars
from simulator.names import COMMON_NAMES, MINORITY_NAMES, sample_given_names, sample_surnames
from simulator.rng import stream

REFERENCE_DAY = np.datetime64("2024-01-01", "D")
PHONE_PREFIXES = np.array(
    [
        "130",
        "131",
        "132",
        "133",
        "135",
        "136",
        "137",
        "138",
        "139",
        "150",
        "151",
        "152",
        "155",
        "156",
        "158",
        "159",
        "176",
        "177",
        "180",
        "181",
        "186",
        "187",
        "189",
        "199",
    ]
)
TAGS = ["低保", "残疾", "优抚对象", "社区矫正"]
TAG_RATES = [0.02, 0.02, 0.01, 0.003]


@dataclass
class Population:
    persons: pd.DataFrame
    estate_district: np.ndarray  # district name per estate row


def estate_districts(geo: Geography) -> np.ndarray:
    comm = geo.communities.set_index("community_code")["district_code"]
    dist_name = dict(zip(geo.streets["district_code"], geo.streets["district_name"]))
    return np.array([dist_name[comm[c]] for c in geo.estates["community_code"]], dtype=object)


def _slots(rng: np.random.Generator, geo: Geography, estate_idx: np.ndarray) -> tuple[np.ndarray, ...]:
    """Distinct (building, unit, room) per household inside its estate."""
    est = geo.estates
    units, floors = est["units"].to_numpy(), est["floors"].to_numpy()
    capacity = est["buildings"].to_numpy() * units * floors * 4
    slot = np.empty(len(estate_idx), dtype=np.int64)
    order = np.argsort(estate_idx, kind="stable")
    bounds = np.searchsorted(estate_idx[order], np.arange(len(est) + 1))
    for e in range(len(est)):
        members = order[bounds[e] : bounds[e + 1]]
        if len(members) == 0:
            continue
        cap = int(capacity[e])
        if len(members) <= cap:
            slot[members] = rng.choice(cap, size=len(members), replace=False)
        else:
            slot[members] = rng.integers(0, cap, size=len(members))
    per_building = units[estate_idx] * floors[estate_idx] * 4
    ld = slot // per_building + 1
    rem = slot % per_building
    dy = rem // (floors[estate_idx] * 4) + 1
    rem2 = rem % (floors[estate_idx] * 4)
    floor, room = rem2 // 4 + 1, rem2 % 4 + 1
    fh = np.array([f"{f}{r:02d}" for f, r in zip(floor, room)], dtype=object)
    return ld.astype(np.int64), dy.astype(np.int64), fh


def _phones(rng: np.random.Generator, n: int) -> np.ndarray:
    prefix = PHONE_PREFIXES[rng.integers(0, len(PHONE_PREFIXES), size=n)]
    body = rng.integers(0, 10**8, size=n)
    return np.array([f"{p}{b:08d}" for p, b in zip(prefix, body)], dtype=object)


def build_population(seed: int, n_residents: int, geo: Geography, names: str = "default") -> Population:
    """The residents; `names` is the name style (simulator.names.NAME_STYLES)."""
    rng = stream(seed, "population", n_residents)
    est = geo.estates
    districts = estate_districts(geo)

    # Households and their flats.
    sizes = rng.choice([1, 2, 3, 4, 5], size=n_residents // 2 + 10, p=[0.18, 0.30, 0.30, 0.16, 0.06])
    n_hh = int(np.searchsorted(np.cumsum(sizes), n_residents)) + 1
    sizes = sizes[:n_hh]
    sizes[-1] -= int(sizes.sum() - n_residents)
    grid_weight = geo.grids.set_index("grid_code")["weight"].reindex(est["grid_code"]).to_numpy()
    cap = (est["buildings"] * est["units"] * est["floors"]).to_numpy()
    w = grid_weight * np.sqrt(cap)
    hh_estate = rng.choice(len(est), size=n_hh, p=w / w.sum())
    hh_ld, hh_dy, hh_fh = _slots(rng, geo, hh_estate)

    hh = np.repeat(np.arange(n_hh), sizes)
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    role = np.arange(n_residents) - starts  # 0 head, 1 spouse, 2-3 children, 4 parent
    n = n_residents

    head_age = rng.integers(24, 82, size=n_hh)
    head_male = rng.random(n_hh) < 0.55
    age = np.empty(n, dtype=np.int64)
    h_age = head_age[hh]
    age[:] = h_age
    sp = role == 1
    age[sp] = np.clip(h_age[sp] + np.round(rng.normal(0, 3, sp.sum())).astype(int), 20, 95)
    ch = (role == 2) | (role == 3)
    age[ch] = np.maximum(h_age[ch] - rng.integers(22, 38, size=ch.sum()), 0)
    par = role == 4
    age[par] = np.minimum(h_age[par] + rng.integers(22, 32, size=par.sum()), 99)
    male = np.where(role == 0, head_male[hh], np.where(role == 1, ~head_male[hh], rng.random(n) < 0.5))
    sex = np.where(male, "男", "女").astype(object)
    birth = REFERENCE_DAY - (age * 365 + rng.integers(0, 365, size=n)).astype("timedelta64[D]")

    # Twins: in some households with two children the second child shares the first one's birth date.
    two_kids = np.flatnonzero(role == 3)
    twin_mask = rng.random(len(two_kids)) < 0.04
    if len(two_kids) and twin_mask.sum() < 3:
        twin_mask[rng.choice(len(two_kids), size=min(3, len(two_kids)), replace=False)] = True
    twins = two_kids[twin_mask]
    birth[twins] = birth[twins - 1]
    age[twins] = age[twins - 1]

    # Names: the household shares the head's surname except the spouse.
    hh_surname = sample_surnames(rng, n_hh, names)
    surname = hh_surname[hh].copy()
    surname[sp] = sample_surnames(rng, int(sp.sum()), names)
    given = sample_given_names(rng, sex, names)
    # Twins must have different given names.
    for t in twins:
        while given[t] == given[t - 1]:
            given[t] = sample_given_names(rng, sex[t : t + 1], names)[0]
    name = np.array([s + g for s, g in zip(surname, given)], dtype=object)

    ethnic = np.full(n, "汉族", dtype=object)
    minority_hh = rng.random(n_hh) < 0.03
    minority_hh[rng.choice(n_hh, size=min(n_hh, 4), replace=False)] = True
    m_kind = rng.choice(
        ["维吾尔族", "回族", "土家族", "苗族", "蒙古族"], size=n_hh, p=[0.45, 0.2, 0.15, 0.1, 0.1]
    )
    mp = minority_hh[hh]
    ethnic[mp] = m_kind[hh][mp]
    uy = ethnic == "维吾尔族"
    parts = [nm.split("·") for nm in MINORITY_NAMES]
    firsts, seconds = [p[0] for p in parts], [p[1] for p in parts]
    idx_a, idx_b = rng.integers(0, len(firsts), size=uy.sum()), rng.integers(0, len(seconds), size=uy.sum())
    name[uy] = [f"{firsts[a]}·{seconds[b]}" for a, b in zip(idx_a, idx_b)]
    surname[uy] = [nm.split("·")[0] for nm in name[uy]]
    given[uy] = [nm.split("·")[1] for nm in name[uy]]

    # Addresses and grids.
    estate_idx = hh_estate[hh]
    ld, dy, fh = hh_ld[hh], hh_dy[hh], hh_fh[hh]
    grid_code = building_grid(est, estate_idx, ld)

    # Common names in one grid: rename a few unrelated adults of the same grid to 张伟 / 王芳.
    adult = age >= 22
    n_common_grids = max(4, n // 1500)
    cand = pd.DataFrame({"g": grid_code, "hh": hh, "sex": sex, "i": np.arange(n)})[adult & ~uy]
    cand = cand.drop_duplicates(["g", "hh", "sex"])
    counts = cand.groupby(["g", "sex"])["i"].transform("size")
    cand = cand[counts >= 2]
    keys = cand[["g", "sex"]].drop_duplicates()
    chosen = keys.iloc[rng.permutation(len(keys))[:n_common_grids]]
    for g, s in chosen.itertuples(index=False):
        members = cand[(cand["g"] == g) & (cand["sex"] == s)]["i"].to_numpy()[: 2 + int(rng.integers(0, 2))]
        full = COMMON_NAMES[s]
        name[members], surname[members], given[members] = full, full[0], full[1:]

    # ID numbers: city district area code, birth date, sequence unique per (area, birth), odd = male.
    dist_code = {d: c for c, d in [(r.district_code[:6], r.district_name) for r in geo.streets.itertuples()]}
    home_area = np.array([dist_code[d] for d in districts[estate_idx]], dtype=object)
    other = np.array(sorted(set(dist_code.values())), dtype=object)[rng.integers(0, len(dist_code), size=n)]
    area = np.where(rng.random(n) < 0.85, home_area, other)
    birth_txt = np.datetime_as_string(birth, unit="D")
    birth8 = np.array([b.replace("-", "") for b in birth_txt], dtype=object)
    frame = pd.DataFrame({"area": area, "birth": birth8, "male": male})
    rank = frame.groupby(["area", "birth", "male"]).cumcount().to_numpy()
    base = rng.integers(0, 150, size=n)
    seq = (base + rank * 2) * 2 % 998 + np.where(male, 1, 0)
    seq = np.where(seq == 0, 2, seq)
    frame["seq"] = seq
    dup = frame.duplicated(["area", "birth", "seq"])
    while dup.any():  # collisions after wrapping: move them along until unique
        frame.loc[dup, "seq"] = (frame.loc[dup, "seq"] + 2) % 1000
        dup = frame.duplicated(["area", "birth", "seq"])
    first17 = np.array(
        [f"{a}{b}{s:03d}" for a, b, s in zip(area, birth8, frame["seq"].to_numpy())], dtype=object
    )
    id_no = np.array([f + c for f, c in zip(first17, id_check_chars(first17))], dtype=object)

    # Phones: minors and many elderly share the head's phone; some spouses too.
    phone = _phones(rng, n)
    head_phone = phone[starts]
    share = (age < 16) | ((age >= 75) & (rng.random(n) < 0.5)) | (sp & (rng.random(n) < 0.08))
    share &= role > 0
    phone = np.where(share, head_phone, phone)

    # Movers: some households lived elsewhere before (old wg_syrk row, soft-deleted).
    moved_hh = rng.random(n_hh) < 0.03
    moved_hh[rng.choice(n_hh, size=min(n_hh, 3), replace=False)] = True
    old_estate_hh = rng.choice(len(est), size=n_hh, p=w / w.sum())
    same = est["grid_code"].to_numpy()[old_estate_hh] == est["grid_code"].to_numpy()[hh_estate]
    old_estate_hh = np.where(same, (old_estate_hh + 7) % len(est), old_estate_hh)
    o_ld, o_dy, o_fh = _slots(rng, geo, old_estate_hh)
    moved = moved_hh[hh]
    old_estate = np.where(moved, old_estate_hh[hh], -1)
    old_grid = np.where(moved, building_grid(est, old_estate_hh, o_ld)[hh], None)

    jzlx = rng.choice(np.array(["户籍", "流动", "寄住"], dtype=object), size=n, p=[0.75, 0.2, 0.05])
    tags = [[] for _ in range(n)]
    alone = (sizes[hh] == 1) & (age >= 70)
    for i in np.flatnonzero(alone):
        tags[i].append("独居老人")
    for tag, rate in zip(TAGS, TAG_RATES):
        for i in np.flatnonzero(rng.random(n) < rate):
            tags[i].append(tag)
    tsbq = np.array([",".join(t) if t else None for t in tags], dtype=object)

    persons = pd.DataFrame(
        {
            "person_id": [f"P{i:08d}" for i in range(1, n + 1)],
            "household": hh,
            "role": role,
            "surname": surname,
            "given": given,
            "name": name,
            "sex": sex,
            "birth": birth,
            "age": age,
            "ethnic": ethnic,
            "id_no": id_no,
            "phone": phone,
            "estate_idx": estate_idx,
            "estate_id": est["estate_id"].to_numpy()[estate_idx],
            "ld": ld,
            "dy": dy,
            "fh": fh,
            "grid_code": grid_code,
            "district": districts[estate_idx],
            "jzlx": jzlx,
            "tsbq": tsbq,
            "moved": moved,
            "old_estate_idx": old_estate,
            "old_ld": np.where(moved, o_ld[hh], 0),
            "old_dy": np.where(moved, o_dy[hh], 0),
            "old_fh": np.where(moved, o_fh[hh], None),
            "old_grid_code": old_grid,
            "in_syrk": rng.random(n) < 0.96,
            "twin": np.isin(np.arange(n), np.concatenate([twins, twins - 1])),
        }
    )
    persons["community_code"] = persons["grid_code"].str[:12]
    return Population(persons, districts)
