"""Incidents (demands): things that happen at a place and get reported through one or more channels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator.timegen import office_times
from simulator.world import World

CHANNEL_SETS = [("g",), ("h",), ("p",), ("g", "h"), ("g", "h", "p"), ("h", "p"), ("g", "p")]
CHANNEL_P = [0.45, 0.33, 0.07, 0.07, 0.04, 0.03, 0.01]
PROPERTY_MAJORS = {"01": "环境卫生", "05": "停车", "08": "维修", "09": "噪音", "06": "维修", "04": "安全"}


def build_incidents(world: World) -> pd.DataFrame:
    rng = world.rng("incidents")
    persons = world.pop.persons
    n = max(50, int(0.25 * world.n_residents))
    where = rng.integers(0, len(persons), size=n)
    p = persons.iloc[where]
    estates = world.geo.estates
    company = estates["company_idx"].to_numpy()[p["estate_idx"].to_numpy()]
    cats = world.categories
    cat = rng.integers(0, len(cats), size=n)
    chan = rng.choice(len(CHANNEL_SETS), size=n, p=CHANNEL_P)
    managed = company >= 0
    sets = [CHANNEL_SETS[c] for c in chan]
    # Property complaints need a managed estate; elsewhere that channel becomes the grid.
    sets = [s if m or "p" not in s else tuple(sorted(set(s) - {"p"} | {"g"})) for s, m in zip(sets, managed)]
    reported_by_resident = (rng.random(n) < 0.75) & (p["age"].to_numpy() >= 18)
    depts = world.departments
    district_names = p["district"].to_numpy()
    dept_idx = rng.integers(0, len(depts), size=n)
    local = rng.random(n) < 0.6
    by_district = {
        d: np.flatnonzero(depts["dept_name"].str.startswith(d).to_numpy()) for d in set(district_names)
    }
    for i in np.flatnonzero(local):
        options = by_district[district_names[i]]
        dept_idx[i] = options[rng.integers(0, len(options))]
    major = cats["category_code"].str[:2].to_numpy()[cat]
    return pd.DataFrame(
        {
            "incident_id": [f"I{i:08d}" for i in range(1, n + 1)],
            "person_idx": where,
            "reporter": np.where(reported_by_resident, where, -1),
            "estate_idx": p["estate_idx"].to_numpy(),
            "grid_code": p["grid_code"].to_numpy(),
            "ld": p["ld"].to_numpy(),
            "company_idx": company,
            "category_code": cats["category_code"].to_numpy()[cat],
            "minor_name": cats["minor_name"].to_numpy()[cat],
            "limit_hours": cats["default_limit_hours"].to_numpy()[cat],
            "property_lb": [
                PROPERTY_MAJORS.get(m, "物业服务" if i % 2 else "其他") for i, m in enumerate(major)
            ],
            "time": office_times(rng, n, world.start, world.end),
            "channels": ["".join(s) for s in sets],
            "dept_idx": dept_idx,
        }
    )


def place_text(world: World, inc: pd.DataFrame) -> np.ndarray:
    """'武昌区友育华庭3栋附近' - where an incident happened, as people describe it."""
    est = world.geo.estates
    names = est["name"].to_numpy()[inc["estate_idx"].to_numpy()]
    districts = world.pop.estate_district[inc["estate_idx"].to_numpy()]
    return np.array(
        [f"{d}{e}{ld}栋附近" for d, e, ld in zip(districts, names, inc["ld"].to_numpy())], dtype=object
    )
