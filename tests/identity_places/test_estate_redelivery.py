"""The property system's estates files delivered again in later months (contract layout
{company}/{YYYY-MM}/estates.*, key xqmc + company) with attributes changed between deliveries, at the dirt rate
(simulator.systems.property._estates_redelivered). The hub side (every delivery kept, the latest one current,
versions by delivery month) is stg_property__estates / stg_property__estate_deliveries /
int_property_estate_versions; here: what the simulator delivers and what its truth says.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import simulator


def _read(path: Path, company: dict) -> pd.DataFrame:
    if path.suffix == ".xlsx":
        frame = pd.read_excel(path, sheet_name="estates", dtype=str)
    else:
        frame = pd.read_csv(path, encoding=company["encoding"], dtype=str)
    names = {text: field for field, text in company["headers"]["estates"].items()}
    return frame.rename(columns=names)[list(names.values())].fillna("")


def _deliveries(out: Path) -> dict[str, list[tuple[str, pd.DataFrame]]]:
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    root = out / "landing" / "property"
    got = {}
    for company in manifest["files"]["property"]["companies"]:
        files = sorted((root / company["folder"]).glob("*/estates.*"))
        got[company["folder"]] = [(f.parent.name, _read(f, company)) for f in files]
    return got


@pytest.fixture(scope="module")
def dirty(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("redelivery") / "dirty"
    simulator.generate(out, scale="tiny", seed=5, dirt_rate=0.10, years=2)
    return out


def test_every_company_delivers_its_estates_each_year_with_some_attributes_changed(dirty: Path) -> None:
    changed = total = 0
    for folder, deliveries in _deliveries(dirty).items():
        assert [month for month, _ in deliveries] == ["2024-01", "2025-01"], folder
        (_, first), (_, second) = deliveries
        assert first["xqmc"].tolist() == second["xqmc"].tolist(), folder  # the same estates, same keys
        same = [c for c in first.columns if c not in ("ywh", "dzz")]
        assert first[same].equals(second[same]), folder  # only the flags change
        diff = (first["ywh"] != second["ywh"]) | (first["dzz"] != second["dzz"])
        # a committee or a party organisation established since: 否 -> 是, never back
        for col in ("ywh", "dzz"):
            moved = first[col] != second[col]
            assert set(first.loc[moved, col]) <= {"否"} and set(second.loc[moved, col]) <= {"是"}, folder
        changed += int(diff.sum())
        total += len(first)
    assert changed >= 1
    assert changed <= 0.25 * total, (changed, total)  # about the dirt rate (0.10), not every estate


def test_truth_has_one_row_per_estate_however_often_delivered(dirty: Path) -> None:
    truth = pd.read_parquet(dirty / "truth" / "records.parquet")
    estates = truth[(truth["source_system"] == "property") & (truth["source_table"] == "estates")]
    assert len(estates) > 0
    assert not estates["source_key"].duplicated().any()


def test_no_attribute_changes_at_dirt_rate_zero(tmp_path: Path) -> None:
    out = tmp_path / "clean"
    simulator.generate(out, scale="tiny", seed=5, dirt_rate=0.0, years=2)
    for folder, deliveries in _deliveries(out).items():
        assert len(deliveries) == 2, folder
        assert deliveries[0][1].equals(deliveries[1][1]), folder


def test_one_delivery_in_a_one_year_window(tmp_path: Path) -> None:
    out = tmp_path / "one_year"
    simulator.generate(out, scale="tiny", seed=5, years=1)
    assert all(len(d) == 1 for d in _deliveries(out).values())
