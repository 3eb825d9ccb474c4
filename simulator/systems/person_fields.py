"""Person fields with their contract dirt, shared by the systems that hold people."""

from __future__ import annotations

import numpy as np
import pandas as pd

from simulator import dirt
from simulator.world import World, dirty_column, grid_lookup


def names(world: World, system: str, table: str, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    out, _ = dirty_column(
        world,
        system,
        table,
        "xm",
        "name",
        values,
        keys,
        lambda v, k, i: dirt.dirty_name(v, k, i),
        dirt.name_applicability(values),
    )
    return out


def id_numbers(
    world: World,
    system: str,
    table: str,
    fld: str,
    keys: np.ndarray,
    values: np.ndarray,
    eligible: np.ndarray | None = None,
) -> np.ndarray:
    out, _ = dirty_column(
        world,
        system,
        table,
        fld,
        "id_no",
        values,
        keys,
        lambda v, k, i: dirt.dirty_id(v, k, i),
        dirt.id_applicability(values),
        eligible,
    )
    return out


def phones(
    world: World, system: str, table: str, fld: str, keys: np.ndarray, values: np.ndarray
) -> np.ndarray:
    other = np.roll(values, 1)
    ok = {k: pd.notna(values) for k in dirt.DIRT_KINDS["phone"]}
    out, _ = dirty_column(
        world,
        system,
        table,
        fld,
        "phone",
        values,
        keys,
        lambda v, k, i: dirt.dirty_phone(v, k, i, other[i] or "13912345678"),
        ok,
    )
    return out


def addresses(
    world: World,
    system: str,
    table: str,
    fld: str,
    keys: np.ndarray,
    estate_idx: np.ndarray,
    ld: np.ndarray,
    dy: np.ndarray,
    fh: np.ndarray,
    with_dirt: bool = True,
) -> np.ndarray:
    est = world.geo.estates
    names_ = est["name"].to_numpy()[estate_idx]
    aliases = est["alias"].to_numpy()[estate_idx]
    districts = world.pop.estate_district[estate_idx]
    clean = np.array(
        [
            dirt.format_address(d, e, a, int(b), int(u), r, None)
            for d, e, a, b, u, r in zip(districts, names_, aliases, ld, dy, fh)
        ],
        dtype=object,
    )
    if not with_dirt:
        return clean
    out, _ = dirty_column(
        world,
        system,
        table,
        fld,
        "address",
        clean,
        keys,
        lambda v, k, i: dirt.format_address(
            districts[i], names_[i], aliases[i], int(ld[i]), int(dy[i]), fh[i], k
        ),
    )
    return out


def grid_texts(
    world: World,
    system: str,
    table: str,
    fld: str,
    keys: np.ndarray,
    grid_codes: np.ndarray,
    with_dirt: bool = True,
) -> np.ndarray:

    lk = grid_lookup(world)
    present = pd.notna(grid_codes)
    codes = np.where(present, grid_codes, lk.index[0])
    rows = lk.loc[codes]
    comm, short, seq = rows["community_name"].to_numpy(), rows["short"].to_numpy(), rows["seq"].to_numpy()
    clean = np.array(
        [dirt.grid_text(c, s, int(q), g, None) for c, s, q, g in zip(comm, short, seq, codes)], dtype=object
    )
    clean[~present] = None
    if not with_dirt:
        return clean
    out, _ = dirty_column(
        world,
        system,
        table,
        fld,
        "grid_text",
        clean,
        keys,
        lambda v, k, i: dirt.grid_text(comm[i], short[i], int(seq[i]), codes[i], k),
        eligible=present,
    )
    return out
