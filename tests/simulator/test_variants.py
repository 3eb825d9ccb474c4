"""Variant-city knobs of the simulator (years, communities / grids, name style): each changes what it claims to,
and with the defaults the output is byte for byte the one of a plain `generate`."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import simulator
from simulator.geography import N_COMMUNITIES, N_GRIDS, build_geography
from simulator.names import NAME_STYLES, SURNAMES, sample_given_names, sample_surnames
from simulator.rng import stream
from simulator.timegen import SPAN_END, SPAN_START, span


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_default_knobs_change_nothing(tmp_path: Path) -> None:
    plain = simulator.generate(tmp_path / "plain", scale="tiny", seed=5)
    explicit = simulator.generate(
        tmp_path / "explicit", scale="tiny", seed=5, years=2, communities=100, grids=634, names="default"
    )
    assert "variant" not in plain and "variant" not in explicit
    assert _digest(tmp_path / "plain") == _digest(tmp_path / "explicit")


def test_span_years() -> None:
    assert span() == (SPAN_START, SPAN_END) == (date(2024, 1, 1), date(2025, 12, 31))
    assert span(1) == (date(2024, 1, 1), date(2024, 12, 31))
    assert span(3)[1] == date(2026, 12, 31)
    with pytest.raises(ValueError):
        span(0)


def test_geography_counts() -> None:
    geo = build_geography(42, 50, 250)
    assert len(geo.communities) == 50 and len(geo.grids) == 250
    assert geo.grids["grid_code"].is_unique and geo.communities["community_code"].is_unique
    assert set(geo.grids["community_code"]) == set(
        geo.communities["community_code"]
    )  # every community has grids
    assert (geo.grids["grid_code"].str[:12] == geo.grids["community_code"]).all()
    assert geo.estates["grid_code"].isin(geo.grids["grid_code"]).all()
    default = build_geography(42)
    assert (len(default.communities), len(default.grids)) == (N_COMMUNITIES, N_GRIDS)
    for bad in ((10, 100), (60, 50), (100, 6000)):
        with pytest.raises(ValueError):
            build_geography(42, *bad)


def _head(names: np.ndarray, k: int) -> list[str]:
    return pd.Series(names).value_counts().index[:k].tolist()


def test_name_styles() -> None:
    n = 20_000
    default = sample_surnames(stream(1, "t"), n)
    southern = sample_surnames(stream(1, "t"), n, "southern")
    uniform = sample_surnames(stream(1, "t"), n, "uniform")
    assert set(_head(default, 3)) == {"王", "李", "张"}
    assert _head(southern, 1) == ["陈"] and set(_head(southern, 4)) <= {"陈", "黄", "林", "梁", "李"}
    assert pd.Series(uniform).value_counts().max() / n < 3 / len(SURNAMES)
    sexes = np.array(["男", "女"] * (n // 2), dtype=object)
    g_default = sample_given_names(stream(2, "t"), sexes)
    g_southern = sample_given_names(stream(2, "t"), sexes, "southern")
    assert np.mean([len(g) == 2 for g in g_southern]) > np.mean([len(g) == 2 for g in g_default])
    # popular two-character given names repeat: the most common one is far more frequent than in the default
    assert pd.Series(g_southern).value_counts().iloc[0] > 3 * pd.Series(g_default).value_counts().iloc[0]
    with pytest.raises(ValueError):
        sample_surnames(stream(1, "t"), 5, "martian")
    assert NAME_STYLES == ("default", "southern", "uniform")


def test_variant_city_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "v"
    m = simulator.generate(out, scale="tiny", seed=5, years=1, communities=40, grids=200, names="southern")
    assert m["variant"] == {"years": 1, "communities": 40, "grids": 200, "names": "southern"}
    assert m["span"] == {"start": "2024-01-01", "end": "2024-12-31"}
    assert m["geography"]["communities"] == 40 and m["geography"]["grids"] == 200
    assert m["row_counts"]["grid"]["wg_grid"] == 200
    con = sqlite3.connect(out / "grid.sqlite")
    assert con.execute("select count(*) from wg_grid").fetchone()[0] == 200
    con.close()
    divisions = pd.read_csv(out / "reference" / "divisions.csv", dtype=str)
    assert (divisions["level"] == "社区").sum() == 40
    days = sorted(p.stem for p in (out / "landing" / "hotline").glob("*.jsonl"))
    assert days and days[0] >= "2024-01-01" and days[-1] <= "2024-12-31"
    months = {p.parent.name for p in (out / "landing" / "property").rglob("complaints.*")}
    assert months and all(mo.startswith("2024-") for mo in months)
    persons = pd.read_parquet(out / "truth" / "persons.parquet")
    assert persons["name"].str[0].value_counts().index[0] == "陈"
    with pytest.raises(ValueError):
        simulator.generate(
            tmp_path / "bad", scale="tiny", years=1, effects={"joint_mechanism_complaint_drop": 0.3}
        )


def test_cli_exposes_the_knobs(tmp_path: Path) -> None:
    from yiwang.cli import main

    out = tmp_path / "cli"
    res = CliRunner().invoke(
        main,
        ["simulate", "--scale", "small", "--seed", "3", "--out", str(out), "--years", "1", "--communities", "30",
         "--grids", "120", "--surnames", "uniform"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["variant"] == {"years": 1, "communities": 30, "grids": 120, "names": "uniform"}
    bad = CliRunner().invoke(main, ["simulate", "--out", str(tmp_path / "bad"), "--communities", "5"])
    assert bad.exit_code != 0 and "communities" in bad.output
