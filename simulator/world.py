"""Everything the system builders share: config, geography, people, reference data, incidents."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from simulator.dirt import DirtConfig, DirtLog, apply, assign
from simulator.effects import Effects
from simulator.geography import Geography
from simulator.people import Population
from simulator.rng import stream

SCALES: dict[str, int] = {"tiny": 600, "small": 2_000, "medium": 50_000, "city": 2_000_000}


@dataclass
class World:
    seed: int
    scale: str
    n_residents: int
    dirt: DirtConfig
    start: date
    end: date
    geo: Geography
    pop: Population
    departments: pd.DataFrame
    categories: pd.DataFrame
    firms: pd.DataFrame = field(default_factory=pd.DataFrame)  # legal persons: name, uscc
    incidents: pd.DataFrame = field(default_factory=pd.DataFrame)
    log: DirtLog = field(default_factory=DirtLog)
    truth: list[pd.DataFrame] = field(default_factory=list)
    effects: Effects = field(default_factory=Effects)  # injected effects (default: none)
    effect_truth: dict = field(default_factory=dict)  # their ground truth, for the manifest
    names: str = "default"  # name style (simulator.names.NAME_STYLES)

    def rng(self, *labels: str | int) -> np.random.Generator:
        return stream(self.seed, self.scale, self.n_residents, *labels)

    def fixed_rng(self, *labels: str | int) -> np.random.Generator:
        """A stream that ignores the scale: for catalogs and structures that are the same at every scale."""
        return stream(self.seed, "fixed", *labels)

    @property
    def factor(self) -> float:
        """Volume multiplier relative to the small scale (for counts that scale with people)."""
        return self.n_residents / SCALES["small"]

    def add_truth(self, system: str, table: str, keys, **cols) -> None:
        n = len(keys)
        frame = {
            "source_system": [system] * n,
            "source_table": [table] * n,
            "source_key": np.asarray(keys, dtype=object),
        }
        for name in ("person_id", "grid_code", "incident_id", "estate_id", "org_id"):
            value = cols.get(name)
            frame[name] = np.full(n, None, dtype=object) if value is None else np.asarray(value, dtype=object)
        self.truth.append(pd.DataFrame(frame))


def grid_lookup(world: World) -> pd.DataFrame:
    """Per grid: wgmc, seq, community name/short, street code/name, district name."""
    geo = world.geo
    grids = geo.grids.merge(geo.communities.rename(columns={"name": "community_name"}), on="community_code")
    grids = grids.merge(geo.streets.rename(columns={"name": "street_name"}), on="street_code")
    return grids.set_index("grid_code", drop=False)


def dirty_column(
    world: World,
    system: str,
    table: str,
    fld: str,
    group: str,
    values: np.ndarray,
    keys: np.ndarray,
    fn,
    applicable: dict[str, np.ndarray] | None = None,
    eligible: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Applies the dirt of `group` to a column, logs it, and returns (values, kinds)."""

    values = np.asarray(values, dtype=object)
    kinds = assign(
        world.rng("dirt", system, table, fld), world.dirt, group, len(values), applicable, eligible
    )
    world.log.add(system, table, keys, fld, kinds)
    return apply(values, kinds, fn), kinds
