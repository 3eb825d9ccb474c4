"""The demo city's fixed geography: districts, streets, communities, 634 grids, estates, companies.

Everything here depends on the seed (and the community / grid counts of a variant city) only, never on
the scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from simulator.ids import make_uscc
from simulator.rng import stream

PROVINCE = "湖北省"
CITY_NAME = "江城市"
CITY_AREA = "420100"
CITY_CODE = CITY_AREA + "000000"
CENTRE_LON, CENTRE_LAT = 114.30, 30.58
DISTRICTS = [
    ("420102", "江岸区"),
    ("420103", "江汉区"),
    ("420104", "硚口区"),
    ("420105", "汉阳区"),
    ("420106", "武昌区"),
    ("420107", "青山区"),
]
N_GRIDS = 634
N_COMMUNITIES = 100
STREETS_PER_DISTRICT = 3
GRID_TYPES = ["成熟小区", "散居楼院", "商圈楼宇", "园区"]
CELL_W, CELL_H = 0.006, 0.005
LATTICE_COLS = 26

WORDS = list(
    "前进光明幸福和平新华红旗友谊建设胜利团结长江汉水东湖南湖北山西园花桥中山民主解放复兴育才常青金桥翠微梨园百步"
)
ESTATE_SUFFIX = ["花园", "小区", "家园", "新村", "嘉园", "雅居", "华庭", "名都", "公寓", "苑"]
ROAD_SUFFIX = ["路", "大道", "街"]
NUMERALS = "〇一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1..99 as Chinese numerals (三, 十二, 二十)."""
    if n < 10:
        return NUMERALS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else NUMERALS[tens]) + "十" + (NUMERALS[ones] if ones else "")


@dataclass
class Geography:
    divisions: pd.DataFrame  # division_code, name, level, parent_code
    streets: pd.DataFrame  # street_code(12), jdbm(9), name, district_code, district_name
    communities: pd.DataFrame  # community_code, name, short, street_code, district_code
    grids: pd.DataFrame  # grid_code, seq, wgmc, community_code, wglx, x0, y0, x1, y1, wkt, weight
    estates: pd.DataFrame  # estate_id, name, alias, property_name, grid_code, grid2, ... company
    companies: pd.DataFrame  # company_idx, name, uscc, folder
    roads: list[str]


def _unique_names(rng: np.random.Generator, n: int, suffix: str, used: set[str]) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        a, b = rng.integers(0, len(WORDS), size=2)
        if a == b:
            continue
        name = WORDS[a] + WORDS[b]
        if name + suffix in used:
            continue
        used.add(name + suffix)
        out.append(name)
    return out


MAX_COMMUNITIES_PER_STREET = 39  # community sequence numbers 001-039 inside a street
MAX_GRIDS = 5_000  # estate names are drawn from pairs of WORDS (about 3,500 of them)


def check_geography(n_communities: int, n_grids: int) -> None:
    n_streets = len(DISTRICTS) * STREETS_PER_DISTRICT
    if not n_streets <= n_communities <= n_streets * MAX_COMMUNITIES_PER_STREET:
        raise ValueError(
            f"communities must be between {n_streets} (one per street) and "
            f"{n_streets * MAX_COMMUNITIES_PER_STREET}, got {n_communities}"
        )
    if not n_communities <= n_grids <= MAX_GRIDS:
        raise ValueError(
            f"grids must be between the number of communities ({n_communities}) and {MAX_GRIDS}, "
            f"got {n_grids}"
        )


def build_geography(seed: int, n_communities: int = N_COMMUNITIES, n_grids: int = N_GRIDS) -> Geography:
    """The city; a variant city has another number of communities and grids (same districts and streets)."""
    check_geography(n_communities, n_grids)
    rng = stream(seed, "geography")
    used: set[str] = set()

    # Divisions: city, districts, streets (001-099), communities (001-199).
    div_rows = [(CITY_CODE, CITY_NAME, "市", None)]
    street_rows = []
    for dcode, dname in DISTRICTS:
        div_rows.append((dcode + "000000", dname, "区", CITY_CODE))
        seqs = np.sort(rng.choice(np.arange(1, 20), size=STREETS_PER_DISTRICT, replace=False))
        for seq, short in zip(seqs, _unique_names(rng, STREETS_PER_DISTRICT, "街道", used)):
            code = f"{dcode}{seq:03d}000"
            street_rows.append((code, code[:9], short + "街道", dcode + "000000", dname))
            div_rows.append((code, short + "街道", "街道", dcode + "000000"))
    streets = pd.DataFrame(
        street_rows, columns=["street_code", "jdbm", "name", "district_code", "district_name"]
    )

    per_street = np.full(len(streets), n_communities // len(streets))
    per_street[rng.choice(len(streets), size=n_communities - per_street.sum(), replace=False)] += 1
    comm_rows = []
    for s, count in zip(streets.itertuples(), per_street):
        seqs = np.sort(rng.choice(np.arange(1, 40), size=count, replace=False))
        for seq, short in zip(seqs, _unique_names(rng, int(count), "社区", used)):
            code = f"{s.jdbm}{seq:03d}"
            comm_rows.append((code, short + "社区", short, s.street_code, s.district_code))
            div_rows.append((code, short + "社区", "社区", s.street_code))
    communities = pd.DataFrame(
        comm_rows, columns=["community_code", "name", "short", "street_code", "district_code"]
    )
    divisions = pd.DataFrame(div_rows, columns=["division_code", "name", "level", "parent_code"])

    # Grids: 634 (n_grids) spread over the communities, laid out as non-overlapping lattice cells.
    per_comm = np.full(len(communities), n_grids // len(communities))
    per_comm[rng.choice(len(communities), size=n_grids - per_comm.sum(), replace=False)] += 1
    grid_rows = []
    cell = 0
    x_origin = CENTRE_LON - LATTICE_COLS * CELL_W / 2
    y_origin = CENTRE_LAT - (n_grids // LATTICE_COLS + 1) * CELL_H / 2
    wglx = rng.choice(len(GRID_TYPES), size=n_grids, p=[0.56, 0.30, 0.09, 0.05])
    for c, count in zip(communities.itertuples(), per_comm):
        for seq in range(1, int(count) + 1):
            row, col = divmod(cell, LATTICE_COLS)
            col = col if row % 2 == 0 else LATTICE_COLS - 1 - col  # serpentine keeps communities contiguous
            x0, y0 = x_origin + col * CELL_W, y_origin + row * CELL_H
            x1, y1 = x0 + CELL_W, y0 + CELL_H
            wkt = f"POLYGON(({x0:.6f} {y0:.6f}, {x1:.6f} {y0:.6f}, {x1:.6f} {y1:.6f}, {x0:.6f} {y1:.6f}, {x0:.6f} {y0:.6f}))"
            grid_rows.append(
                (
                    c.community_code + f"{seq:03d}",
                    seq,
                    f"{c.name}第{seq}网格",
                    c.community_code,
                    GRID_TYPES[wglx[cell]],
                    x0,
                    y0,
                    x1,
                    y1,
                    wkt,
                )
            )
            cell += 1
    grids = pd.DataFrame(
        grid_rows,
        columns=["grid_code", "seq", "wgmc", "community_code", "wglx", "x0", "y0", "x1", "y1", "wkt"],
    )
    grids["weight"] = grids["wglx"].map({"成熟小区": 1.0, "散居楼院": 0.6, "商圈楼宇": 0.08, "园区": 0.02})

    roads = [w + ROAD_SUFFIX[i % 3] for i, w in enumerate(_unique_names(rng, 60, "路", used))]
    companies = _build_companies(rng, used)
    estates = _build_estates(rng, grids, roads, used, len(companies))
    return Geography(divisions, streets, communities, grids, estates, companies, roads)


def _build_companies(rng: np.random.Generator, used: set[str]) -> pd.DataFrame:
    rows = []
    for i, short in enumerate(_unique_names(rng, 6, "物业", used)):
        name = f"江城{short}物业服务有限公司"
        uscc = make_uscc("9", "1", CITY_AREA, f"{rng.integers(10**7, 10**8):08d}".replace("I", "1"))
        rows.append((i, name, uscc, uscc if i % 2 == 0 else name))
    return pd.DataFrame(rows, columns=["company_idx", "name", "uscc", "folder"])


def _build_estates(
    rng: np.random.Generator, grids: pd.DataFrame, roads: list[str], used: set[str], n_companies: int
) -> pd.DataFrame:
    rows = []
    eid = 0
    for g in grids.itertuples():
        if g.wglx == "园区":
            continue
        n = 1 if g.wglx == "商圈楼宇" else int(rng.choice([1, 1, 1, 2]))
        for _ in range(n):
            eid += 1
            road = roads[int(rng.integers(0, len(roads)))]
            number = int(rng.integers(1, 400))
            if g.wglx == "成熟小区":
                short = _unique_names(rng, 1, "estate", used)[0]
                name = short + ESTATE_SUFFIX[int(rng.integers(0, len(ESTATE_SUFFIX)))]
                alias = short + ("小区" if not name.endswith("小区") else "花园小区")
                buildings, units, floors = (
                    int(rng.integers(8, 40)),
                    int(rng.integers(2, 5)),
                    int(rng.integers(6, 34)),
                )
                company = int(rng.integers(0, n_companies)) if rng.random() < 0.85 else -1
                kind = "小区"
            elif g.wglx == "散居楼院":
                name = f"{road}{number}号院"
                alias = f"{road}{number}号"
                buildings, units, floors = (
                    int(rng.integers(2, 8)),
                    int(rng.integers(1, 4)),
                    int(rng.integers(4, 8)),
                )
                company, kind = -1, "楼院"
            else:
                name = f"{_unique_names(rng, 1, 'tower', used)[0]}大厦"
                alias = name.replace("大厦", "大楼")
                buildings, units, floors = 1, 2, int(rng.integers(15, 40))
                company, kind = -1, "楼宇"
            property_name = name if rng.random() < 0.6 else (name + "一期" if rng.random() < 0.5 else alias)
            rows.append(
                (
                    f"E{eid:04d}",
                    name,
                    alias,
                    property_name,
                    kind,
                    g.grid_code,
                    None,
                    g.community_code,
                    road,
                    number,
                    buildings,
                    units,
                    floors,
                    company,
                    int(rng.integers(1985, 2022)),
                )
            )
    estates = pd.DataFrame(
        rows,
        columns=[
            "estate_id",
            "name",
            "alias",
            "property_name",
            "kind",
            "grid_code",
            "grid2",
            "community_code",
            "road",
            "number",
            "buildings",
            "units",
            "floors",
            "company_idx",
            "built_year",
        ],
    )
    # About 10% of the big estates span into the next grid of the same community (later buildings).
    grid_list = grids["grid_code"].tolist()
    grid_comm = dict(zip(grids["grid_code"], grids["community_code"]))
    pos = {code: i for i, code in enumerate(grid_list)}
    for i in estates.index[(estates["kind"] == "小区") & (rng.random(len(estates)) < 0.12)]:
        g = estates.at[i, "grid_code"]
        j = pos[g] + 1
        if (
            j < len(grid_list)
            and grid_comm[grid_list[j]] == grid_comm[g]
            and estates.at[i, "buildings"] >= 10
        ):
            estates.at[i, "grid2"] = grid_list[j]
    return estates


def building_grid(estates: pd.DataFrame, estate_idx: np.ndarray, ld: np.ndarray) -> np.ndarray:
    """Grid of a building: spanning estates put their last ~30% of buildings in their second grid."""
    main = estates["grid_code"].to_numpy(dtype=object)[estate_idx]
    second = estates["grid2"].to_numpy(dtype=object)[estate_idx]
    nb = estates["buildings"].to_numpy()[estate_idx]
    in_second = pd.notna(second) & (ld > np.ceil(nb * 0.7))
    return np.where(in_second, second, main)


def points_in_grids(
    rng: np.random.Generator, grids: pd.DataFrame, grid_codes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Random (lon, lat) strictly inside each given grid's rectangle."""
    idx = pd.Index(grids["grid_code"]).get_indexer(grid_codes)
    x0, y0 = grids["x0"].to_numpy()[idx], grids["y0"].to_numpy()[idx]
    u, v = rng.uniform(0.05, 0.95, size=len(idx)), rng.uniform(0.05, 0.95, size=len(idx))
    return np.round(x0 + u * CELL_W, 6), np.round(y0 + v * CELL_H, 6)
