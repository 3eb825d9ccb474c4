"""Known effects injected into the simulated city, so that the marts can be shown to recover them.

Off by default: with `Effects()` (all zero) or `effects=None` the simulator's output is byte-for-byte
what it was without this module. With an effect on, the simulator changes only what that effect needs,
draws from its own random streams (`world.rng("effects", ...)`) and records the ground truth in the
manifest under `effects`.

1. `joint_mechanism_complaint_drop` (e.g. 0.30): in estates with the joint mechanism
   (党组织 + 业委会 + 物业 — the estate file says dzz = 是 and ywh = 是, and a property company manages it),
   property complaints per 100 households fall by this share in the second year of the span against
   the first. Other estates: no change. To make a 30 % drop measurable within one percentage point at a
   modest scale, the effect is injected with a balanced design instead of independent draws:
   - every estate's property-channel incidents are split evenly over the two years (an incident moves
     by exactly one year, all its channels with it; an estate with an odd number loses the property
     channel of one incident), so without the effect each estate has as many complaints in year 2 as
     in year 1;
   - then year-2 complaints of mechanism estates are not filed (the incident loses its property
     channel; it stays when another channel reported it) until the group's year-2 count is
     round((1 - share) × its year-1 count).
   Households do not change over the span, so the pooled rate of the mechanism group falls by the
   share (year-2 / year-1 − 1 = −share, up to rounding), and the other group's stays flat.
2. `certified_worker_on_time_lift` (e.g. 0.10): in grids with a full-time certified grid worker
   (wg_wgy: zt = 在岗, rylx = 专职, sgzs = true) the share of closed grid events closed within the
   deadline (jasj <= clsx) is this many percentage points above the other grids'. Balanced too: within
   each group (and separately for events with and without a grid code) exactly round(p × n) of the
   closed events close on time, p = `ON_TIME_BASE` (2/3, the default design's expected share:
   duration = limit × U(0.2, 1.4)) for the other grids and `ON_TIME_BASE + lift` for the certified ones;
   on-time durations are limit × U(0.2, 1.0), late ones limit × U(1.0, 1.4) plus at least a minute.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

ON_TIME_BASE = 2.0 / 3.0
YEAR = np.timedelta64(365, "D")


@dataclass(frozen=True)
class Effects:
    joint_mechanism_complaint_drop: float = 0.0
    certified_worker_on_time_lift: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.joint_mechanism_complaint_drop < 1.0:
            raise ValueError("joint_mechanism_complaint_drop must be in [0, 1)")
        if not 0.0 <= self.certified_worker_on_time_lift <= 1.0 - ON_TIME_BASE:
            raise ValueError(f"certified_worker_on_time_lift must be in [0, {1.0 - ON_TIME_BASE:.3f}]")

    @property
    def any(self) -> bool:
        return self.joint_mechanism_complaint_drop > 0 or self.certified_worker_on_time_lift > 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def coerce(cls, value: Effects | Mapping[str, float] | None) -> Effects:
        if value is None:
            return cls()
        if isinstance(value, Effects):
            return value
        unknown = set(value) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown effects: {sorted(unknown)}; known: {sorted(cls.__dataclass_fields__)}")
        return cls(**{k: float(v) for k, v in value.items()})


def years_of(ts: np.ndarray) -> np.ndarray:
    return ts.astype("datetime64[Y]").astype(int) + 1970


def balance_property_years(incidents: pd.DataFrame, first_year: int) -> pd.DataFrame:
    """Gives every estate the same number of property-channel incidents in both years of the span.

    An estate with an odd number loses the property channel of its last incident (that complaint is
    never filed; an incident no channel reported is dropped). Then incidents move by exactly 365 days
    (the earliest of a surplus back, the latest forward) until the two years hold half each."""
    inc = incidents.copy()
    chans = inc["channels"].to_numpy().copy()
    t = inc["time"].to_numpy().copy()
    prop = np.flatnonzero(np.char.find(chans.astype(str), "p") >= 0)
    est = inc["estate_idx"].to_numpy()
    order = prop[np.lexsort((inc["incident_id"].to_numpy()[prop], est[prop]))]
    for _, idx in pd.Series(order).groupby(est[order], sort=True):
        idx = idx.to_numpy()
        if len(idx) % 2:
            chans[idx[-1]] = chans[idx[-1]].replace("p", "")
            idx = idx[:-1]
        half = len(idx) // 2
        y = years_of(t[idx])
        in_first, in_second = idx[y == first_year], idx[y != first_year]
        if len(in_first) > half:  # move the latest surplus forward a year
            move = in_first[np.argsort(t[in_first], kind="stable")][half - len(in_first) :]
            t[move] = t[move] + YEAR
        elif len(in_first) < half:  # move the earliest surplus back a year
            move = in_second[np.argsort(t[in_second], kind="stable")][: half - len(in_first)]
            t[move] = t[move] - YEAR
    inc["time"] = t
    inc["channels"] = chans
    return inc[inc["channels"] != ""].reset_index(drop=True)


def complaints_to_drop(
    rng: np.random.Generator,
    estate_idx: np.ndarray,
    year1: np.ndarray,
    year2: np.ndarray,
    mechanism: np.ndarray,
    share: float,
) -> np.ndarray:
    """Boolean mask over complaints: which year-2 complaints of mechanism estates are not filed.

    Target: year-2 count = round((1 - share) × year-1 count), pooled over the mechanism estates. Cumulative
    rounding in estate order makes the pooled figure exact and each estate's own within one complaint."""
    drop = np.zeros(len(estate_idx), dtype=bool)
    cand = np.flatnonzero((year1 | year2) & mechanism)
    if share <= 0 or not len(cand):
        return drop
    cand = cand[np.argsort(estate_idx[cand], kind="stable")]
    done = cum1 = cum2 = 0
    for _, idx in pd.Series(cand).groupby(estate_idx[cand], sort=True):
        idx = idx.to_numpy()
        second = idx[year2[idx]]
        cum1 += int(year1[idx].sum())
        cum2 += len(second)
        k = min(len(second), max(0, cum2 - int(round((1.0 - share) * cum1)) - done))
        if k > 0:
            drop[rng.choice(second, size=k, replace=False)] = True
            done += k
    return drop


def certified_grids(workers: pd.DataFrame) -> set[str]:
    """Grids with an on-duty full-time grid worker holding a social-work certificate."""
    ok = (workers["zt"] == "在岗") & (workers["rylx"] == "专职") & workers["sgzs"].astype(bool)
    return set(workers.loc[ok, "wgbm"].dropna().astype(str))


def on_time_durations(
    rng: np.random.Generator,
    limit_s: np.ndarray,
    treated: np.ndarray,
    stratum: np.ndarray,
    closed: np.ndarray,
    lift: float,
) -> np.ndarray:
    """Seconds from report to closure, with exactly round(p × n) on time in each (treated, stratum) cell."""
    n = len(limit_s)
    on_time = np.zeros(n, dtype=bool)
    for t_flag in (False, True):
        p = ON_TIME_BASE + (lift if t_flag else 0.0)
        for s in np.unique(stratum):
            cell = np.flatnonzero(closed & (treated == t_flag) & (stratum == s))
            k = int(round(p * len(cell)))
            on_time[rng.choice(cell, size=k, replace=False)] = True
    u = rng.random(n)
    took = np.where(on_time, limit_s * (0.2 + 0.8 * u), limit_s * (1.0 + 0.4 * u) + 60)
    return np.floor(np.where(on_time, np.minimum(took, limit_s), took)).astype(np.int64)
