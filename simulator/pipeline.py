"""Generates the six department systems, the reference data and the ground truth."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from simulator.dirt import DirtConfig
from simulator.effects import Effects, balance_property_years
from simulator.geography import CITY_AREA, N_COMMUNITIES, N_GRIDS, WORDS, build_geography, check_geography
from simulator.ids import make_uscc
from simulator.incidents import build_incidents
from simulator.names import NAME_STYLES
from simulator.people import _phones, build_population
from simulator.reference import reference_tables, write_reference
from simulator.rng import stream
from simulator.systems.approval import build_approval
from simulator.systems.grid import build_grid
from simulator.systems.hotline import build_tickets, write_hotline
from simulator.systems.party import build_party
from simulator.systems.property import build_property, company_formats, write_property
from simulator.systems.services import build_services
from simulator.timegen import SPAN_END, SPAN_START, SPAN_YEARS, span
from simulator.world import SCALES, World
from simulator.writers.jsonl import write_jsonl
from simulator.writers.sql import write_mariadb, write_sqlite

Progress = Callable[[str, int, int], None]
TRUTH_COLUMNS = [
    "source_system",
    "source_table",
    "source_key",
    "person_id",
    "grid_code",
    "incident_id",
    "estate_id",
    "org_id",
]
INDUSTRIES = ["科技", "商贸", "餐饮", "建筑", "物流", "医药", "教育咨询", "家政服务", "养老服务", "文化传媒"]


def resolve_scale(scale: str | int) -> tuple[str, int]:
    if isinstance(scale, int):
        return f"custom-{scale}", scale
    if scale in SCALES:
        return scale, SCALES[scale]
    if scale.isdigit():
        return f"custom-{scale}", int(scale)
    raise ValueError(f"unknown scale {scale!r}; use one of {sorted(SCALES)} or a resident count")


def build_firms(seed: int, n_residents: int) -> pd.DataFrame:
    rng = stream(seed, "firms")
    n = int(min(20_000, max(80, n_residents // 100)))
    bodies = rng.choice(9 * 10**7, size=n, replace=False) + 10**7

    rows = []
    for i, body in enumerate(bodies):
        short = WORDS[int(rng.integers(0, len(WORDS)))] + WORDS[int(rng.integers(0, len(WORDS)))] + str(i)
        industry = INDUSTRIES[int(rng.integers(0, len(INDUSTRIES)))]
        rows.append(
            (
                f"江城{short}{industry}有限公司",
                make_uscc("9", "1", CITY_AREA, f"{body:08d}"),
                short + industry,
            )
        )
    firms = pd.DataFrame(rows, columns=["name", "uscc", "short"])
    firms["phone"] = _phones(rng, n)
    return firms


def build_world(
    seed: int,
    scale: str | int,
    dirt: DirtConfig,
    start: date = SPAN_START,
    end: date = SPAN_END,
    effects: Effects | None = None,
    communities: int = N_COMMUNITIES,
    grids: int = N_GRIDS,
    names: str = "default",
) -> World:
    name, n = resolve_scale(scale)
    geo = build_geography(seed, communities, grids)
    refs = reference_tables(seed, geo)
    world = World(
        seed=seed,
        scale=name,
        n_residents=n,
        dirt=dirt,
        start=start,
        end=end,
        geo=geo,
        pop=build_population(seed, n, geo, names),
        departments=refs["departments"],
        categories=refs["event_categories"],
        names=names,
    )
    world.firms = build_firms(seed, n)
    world.incidents = build_incidents(world)
    world.effects = effects or Effects()
    if world.effects.joint_mechanism_complaint_drop > 0:
        world.incidents = balance_property_years(world.incidents, start.year)
    return world


def generate(
    out_dir: Path,
    scale: str = "small",
    seed: int = 42,
    dirt_rate: float = 0.05,
    mariadb_url: str | None = None,
    progress: Progress | None = None,
    dirt_overrides: Mapping[str, float] | None = None,
    effects: Effects | Mapping[str, float] | None = None,
    years: int = SPAN_YEARS,
    communities: int = N_COMMUNITIES,
    grids: int = N_GRIDS,
    names: str = "default",
) -> dict:
    """Writes the simulated source systems under out_dir and returns the manifest.

    `effects` (default: none) injects known effects, see `simulator.effects.Effects`; their ground
    truth goes into the manifest under `effects` (absent when no effect is on).

    A variant city (for benchmarks that must hold on a city the hub was not tuned on): `years` whole
    calendar years from 2024 (default 2), `communities` / `grids` (default 100 / 634), `names` the name
    style of `simulator.names.NAME_STYLES` (default `default`). With the defaults the output is the same,
    byte for byte; otherwise the manifest records them under `variant`."""
    start, end = span(years)
    check_geography(communities, grids)
    if names not in NAME_STYLES:
        raise ValueError(f"unknown name style {names!r}; use one of {', '.join(NAME_STYLES)}")
    fx = Effects.coerce(effects)
    if fx.joint_mechanism_complaint_drop > 0 and years < 2:
        raise ValueError("the joint_mechanism_complaint_drop effect compares two years: it needs years >= 2")
    out_dir = Path(out_dir)
    report = progress or (lambda stage, done, total: None)
    stages = ["world", "reference", "party", "grid", "approval", "services", "property", "hotline", "truth"]
    step = iter(range(1, len(stages) + 1))

    def stage(name: str) -> None:
        report(name, next(step), len(stages))

    for sub in ("party.sqlite", "grid.sqlite"):
        (out_dir / sub).unlink(missing_ok=True)
    for sub in ("api", "landing", "truth", "reference"):
        shutil.rmtree(out_dir / sub, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    dirt = DirtConfig(dirt_rate, dict(dirt_overrides or {}))
    stage("world")
    world = build_world(
        seed, scale, dirt, start=start, end=end, effects=fx, communities=communities, grids=grids, names=names
    )
    counts: dict[str, dict[str, int]] = {}

    stage("reference")
    refs = reference_tables(seed, world.geo)
    counts["reference"] = write_reference(out_dir / "reference", refs)

    for system, builder in (("party", build_party), ("grid", build_grid)):
        stage(system)
        tables = builder(world)
        write_sqlite(out_dir / f"{system}.sqlite", system, tables, progress)
        if mariadb_url:
            write_mariadb(mariadb_url, system, tables, progress)
        counts[system] = {k: len(v) for k, v in tables.items()}
        del tables

    for system, builder in (("approval", build_approval), ("services", build_services)):
        stage(system)
        tables = builder(world)
        counts[system] = {
            k: write_jsonl(out_dir / "api" / system / f"{k}.jsonl", v) for k, v in tables.items()
        }

    history = out_dir / "truth" / "resend"
    stage("property")
    formats = company_formats(world)
    files = build_property(world, formats)
    property_info = write_property(world, files, formats, out_dir / "landing", history)
    counts["property"] = {
        k: int(sum(len(f.rows) for f in files if f.kind == k and not f.empty))
        for k in ("estates", "owners", "complaints")
    }

    stage("hotline")
    tickets = build_tickets(world)
    hotline_info = write_hotline(world, tickets, out_dir / "landing", history)
    counts["hotline"] = {"tickets": len(tickets)}

    stage("truth")
    truth = write_truth(out_dir / "truth", world)
    manifest = {
        "seed": seed,
        "scale": world.scale,
        "residents": world.n_residents,
        "dirt_rate": dirt_rate,
        "dirt": dirt.to_dict(),
        "span": {"start": str(world.start), "end": str(world.end)},
        "row_counts": counts,
        "files": {"property": property_info, "hotline": hotline_info},
        "truth": truth,
        "geography": {
            "districts": 6,
            "streets": len(world.geo.streets),
            "communities": len(world.geo.communities),
            "grids": len(world.geo.grids),
            "estates": len(world.geo.estates),
        },
        "increments": [],
    }
    variant = {"years": years, "communities": communities, "grids": grids, "names": names}
    if variant != {"years": SPAN_YEARS, "communities": N_COMMUNITIES, "grids": N_GRIDS, "names": "default"}:
        manifest["variant"] = variant
    if fx.any:
        manifest["effects"] = {"config": fx.to_dict(), **world.effect_truth}
    write_manifest(out_dir, manifest)
    return manifest


def write_manifest(out_dir: Path, manifest: dict) -> None:
    (out_dir / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8"
    )


def truth_frame(world: World) -> pd.DataFrame:
    truth = pd.concat(world.truth, ignore_index=True)
    truth["source_key"] = truth["source_key"].astype(str).str.strip()
    truth = truth.drop_duplicates(["source_system", "source_table", "source_key"], keep="first")
    for col in TRUTH_COLUMNS:
        truth[col] = truth[col].astype(object).where(truth[col].notna(), None)
    return truth.sort_values(["source_system", "source_table", "source_key"], kind="stable").reset_index(
        drop=True
    )


def write_parquet(path: Path, df: pd.DataFrame) -> None:
    schema = pa.schema([(c, pa.string()) for c in df.columns])
    tbl = pa.Table.from_pydict(
        {c: df[c].astype(object).where(df[c].notna(), None).tolist() for c in df.columns}, schema=schema
    )
    pq.write_table(tbl, path, compression="zstd")


def write_truth(truth_dir: Path, world: World) -> dict:
    truth_dir.mkdir(parents=True, exist_ok=True)
    truth = truth_frame(world)
    write_parquet(truth_dir / "records.parquet", truth[TRUTH_COLUMNS])
    p = world.pop.persons
    persons = pd.DataFrame(
        {
            "person_id": p["person_id"],
            "name": p["name"],
            "id_no": p["id_no"],
            "birth_date": np.datetime_as_string(p["birth"].to_numpy().astype("datetime64[D]"), unit="D"),
            "sex": p["sex"],
            "phone": p["phone"],
            "grid_code": p["grid_code"],
            "estate_id": p["estate_id"],
            "household_id": [f"H{h:08d}" for h in p["household"]],
        }
    )
    write_parquet(truth_dir / "persons.parquet", persons)
    dirt_log = world.log.frame()
    write_parquet(truth_dir / "dirt.parquet", dirt_log)
    incidents = world.incidents[["incident_id", "grid_code", "category_code", "channels"]]
    write_parquet(truth_dir / "incidents.parquet", incidents)
    return {
        "records": len(truth),
        "persons": len(persons),
        "dirt_cells": len(dirt_log),
        "incidents": len(incidents),
    }
