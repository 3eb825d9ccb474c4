"""Determinism, contract conformance, check characters, dirt and truth of the generated output."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

import simulator
from simulator.contract import tables
from simulator.dirt import ALL_KINDS
from simulator.ids import is_valid_id_no, is_valid_uscc

REPO = Path(__file__).resolve().parents[2]


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    simulator.generate(a, scale="tiny", seed=3)
    simulator.generate(b, scale="tiny", seed=3)
    assert _digest(a) == _digest(b)


def test_different_seed_differs(tmp_path: Path, clean_out) -> None:
    simulator.generate(tmp_path / "c", scale="tiny", seed=8, dirt_rate=0.0)
    assert _digest(tmp_path / "c")["grid.sqlite"] != _digest(clean_out[0])["grid.sqlite"]


def test_reference_demo_city_matches_seed_42(small_out) -> None:
    out, _ = small_out
    for name in ("divisions", "departments", "event_categories"):
        assert (REPO / "reference" / "demo_city" / f"{name}.csv").read_bytes() == (
            out / "reference" / f"{name}.csv"
        ).read_bytes()


def test_sql_tables_have_contract_columns(small_out) -> None:
    out, manifest = small_out
    for system in ("party", "grid"):
        con = sqlite3.connect(out / f"{system}.sqlite")
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        expected = {name for (s, name) in tables() if s == system}
        assert names == expected
        for name in expected:
            cols = [r[1] for r in con.execute(f'PRAGMA table_info("{name}")')]
            assert cols == tables()[(system, name)].columns
            count = con.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0]
            assert count == manifest["row_counts"][system][name] > 0


def test_api_records_have_contract_fields(small_out) -> None:
    out, _ = small_out
    for system in ("approval", "services"):
        for (s, name), spec in tables().items():
            if s != system:
                continue
            lines = (out / "api" / system / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
            assert lines
            for line in lines[:50]:
                assert list(json.loads(line)) == spec.columns


def test_counts_of_fixed_catalogs(small_out) -> None:
    out, m = small_out
    assert m["row_counts"]["grid"]["wg_grid"] == 634
    assert m["row_counts"]["approval"]["items"] == 132
    assert m["row_counts"]["services"]["life_items"] == 526
    assert m["row_counts"]["reference"]["departments"] == 109
    assert m["geography"]["communities"] >= 94


def test_value_lists_respected(small_out) -> None:
    out, _ = small_out
    con = sqlite3.connect(out / "grid.sqlite")
    spec = tables()
    for table_name, fld in [
        ("wg_grid", "wglx"),
        ("wg_syrk", "jzlx"),
        ("wg_sj", "zt"),
        ("wg_sj", "sjly"),
        ("wg_sjlz", "hj"),
    ]:
        allowed = set(spec[("grid", table_name)].fields[fld]["values"])
        seen = {r[0] for r in con.execute(f"SELECT DISTINCT {fld} FROM {table_name}")}
        assert seen <= allowed, (table_name, fld, seen - allowed)
    myd = {r[0] for r in con.execute("SELECT DISTINCT myd FROM wg_sj WHERE myd IS NOT NULL")}
    assert myd <= {"满意", "基本满意", "不满意", "5", "3", "1"}
    cases = [
        json.loads(x) for x in (out / "api/approval/cases.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert {c["bjjg"] for c in cases} <= set(spec[("approval", "cases")].fields["bjjg"]["values"])


def test_grid_codes_and_divisions(small_out) -> None:
    out, _ = small_out
    div = pd.read_csv(out / "reference" / "divisions.csv", dtype=str)
    assert div["division_code"].str.fullmatch(r"\d{12}").all()
    streets = div[div["level"] == "街道"]["division_code"]
    assert streets.str[6:9].astype(int).between(1, 99).all()
    comms = div[div["level"] == "社区"]["division_code"]
    assert comms.str[9:].astype(int).between(1, 199).all()
    con = sqlite3.connect(out / "grid.sqlite")
    grids = pd.read_sql("SELECT wgbm, sqbm, bj_wkt FROM wg_grid", con)
    assert grids["wgbm"].str.fullmatch(r"\d{15}").all() and (grids["wgbm"].str[:12] == grids["sqbm"]).all()
    assert set(grids["sqbm"]) <= set(comms)


def test_points_fall_in_their_grid(small_out) -> None:
    from shapely import wkt
    from shapely.geometry import Point

    out, _ = small_out
    con = sqlite3.connect(out / "grid.sqlite")
    polys = {g: wkt.loads(w) for g, w in con.execute("SELECT wgbm, bj_wkt FROM wg_grid")}
    rows = con.execute(
        "SELECT wgbm, jd, wd FROM wg_sj WHERE jd IS NOT NULL AND wgbm IS NOT NULL LIMIT 200"
    ).fetchall()
    for g, x, y in rows:
        assert polys[g].contains(Point(x, y))
        assert sum(p.contains(Point(x, y)) for p in list(polys.values())[:0]) == 0


def test_check_chars_valid_when_clean(clean_out) -> None:
    out, _ = clean_out
    con = sqlite3.connect(out / "party.sqlite")
    ids = [r[0] for r in con.execute("SELECT sfzh FROM dj_dy")]
    assert ids and all(is_valid_id_no(x) for x in ids)
    hosts = [r[0] for r in con.execute("SELECT host_uscc FROM dj_org WHERE host_uscc IS NOT NULL")]
    assert hosts and all(is_valid_uscc(x) for x in hosts)
    gcon = sqlite3.connect(out / "grid.sqlite")
    assert all(is_valid_id_no(r[0]) for r in gcon.execute("SELECT sfzh FROM wg_syrk"))
    assert all(is_valid_id_no(r[0]) for r in gcon.execute("SELECT sfzh FROM wg_wgy"))
    depts = pd.read_csv(out / "reference" / "departments.csv", dtype=str)
    assert len(depts) == 109 and depts["uscc"].map(is_valid_uscc).all()


def test_wrong_check_char_rate(tmp_path: Path) -> None:
    out = tmp_path / "wrong"
    simulator.generate(out, scale="tiny", seed=5, dirt_rate=0.0, dirt_overrides={"id_wrong_check_char": 0.2})
    con = sqlite3.connect(out / "grid.sqlite")
    ids = [r[0] for r in con.execute("SELECT sfzh FROM wg_syrk")]
    bad = sum(not is_valid_id_no(x) for x in ids) / len(ids)
    assert 0.13 < bad < 0.27
    assert all(len(x) == 18 for x in ids)


def test_every_dirt_kind_present(small_out) -> None:
    out, m = small_out
    log = pd.read_parquet(out / "truth" / "dirt.parquet")
    file_kinds = {
        "owners_merged_room",
        "property_truncated_file",
        "property_empty_file",
        "property_resend",
        "hotline_malformed_line",
        "hotline_duplicate_ticket",
        "hotline_reexport",
        "http_429_retry_after",
        "http_5xx",
        "http_repeated_page",
        "http_added_fields",
    }  # served by http_api
    missing = set(ALL_KINDS) - set(log["kind"]) - file_kinds
    assert not missing
    prop, hot = m["files"]["property"], m["files"]["hotline"]
    assert (
        prop["truncated"]
        and prop["empty"]
        and prop["resent"]
        and any(c["merged_room"] for c in prop["companies"])
    )
    assert hot["malformed_lines"] > 0 and hot["duplicate_lines"] > 0 and hot["reexported_days"]
    # spot-check a few kinds in the data itself
    con = sqlite3.connect(out / "party.sqlite")
    sfzh = [r[0] for r in con.execute("SELECT sfzh FROM dj_dy") if r[0]]
    assert any("E+17" in x for x in sfzh) and any(len(x) == 15 for x in sfzh)
    assert any(x in {"1", "2", "M", "F"} for (x,) in con.execute("SELECT xb FROM dj_dy"))


def test_no_dirt_at_rate_zero(clean_out) -> None:
    out, m = clean_out
    assert len(pd.read_parquet(out / "truth" / "dirt.parquet")) == 0
    prop, hot = m["files"]["property"], m["files"]["hotline"]
    assert not prop["truncated"] and not prop["empty"] and not prop["resent"]
    assert not any(c["merged_room"] for c in prop["companies"])
    assert hot["malformed_lines"] == 0 and hot["duplicate_lines"] == 0 and not hot["reexported_days"]
    con = sqlite3.connect(out / "party.sqlite")
    assert {r[0] for r in con.execute("SELECT xb FROM dj_dy")} <= {"男", "女"}
    for f in (out / "landing" / "hotline").glob("*.jsonl"):
        for line in f.read_text(encoding="utf-8").splitlines():
            json.loads(line)


def _property_keys(out: Path, manifest: dict) -> set[str]:
    keys = set()
    spec = tables()
    for comp in manifest["files"]["property"]["companies"]:
        for f in sorted((out / "landing" / "property" / comp["folder"]).rglob("*.*")):
            if f.stat().st_size == 0:
                continue
            kind = f.stem
            h = comp["headers"][kind]
            if f.suffix == ".xlsx":
                df = pd.read_excel(f, dtype=str, sheet_name=0)
            else:
                df = pd.read_csv(
                    f, dtype=str, encoding=comp["encoding"], keep_default_na=False, on_bad_lines="skip"
                )
            df = df.rename(columns={v: k for k, v in h.items()})
            if kind == "estates":
                keys |= {f"estates|{x.strip()}|{comp['folder']}" for x in df["xqmc"]}
            elif kind == "owners":
                if comp["merged_room"]:
                    keys |= {
                        f"owners|{x.strip()}|{r.replace('-', '|')}" for x, r in zip(df["xqmc"], df["fh"])
                    }
                else:
                    keys |= {
                        f"owners|{x.strip()}|{a}|{b}|{c}"
                        for x, a, b, c in zip(df["xqmc"], df["ld"], df["dy"], df["fh"])
                    }
            else:
                keys |= {f"complaints|{x}" for x in df["tsbh"]}
    assert spec
    return keys


def test_truth_keys_point_to_records(small_out) -> None:
    out, m = small_out
    truth = pd.read_parquet(out / "truth" / "records.parquet")
    assert list(truth.columns) == [
        "source_system",
        "source_table",
        "source_key",
        "person_id",
        "grid_code",
        "incident_id",
        "estate_id",
        "org_id",
    ]
    assert not truth.duplicated(["source_system", "source_table", "source_key"]).any()
    for system in ("party", "grid"):
        con = sqlite3.connect(out / f"{system}.sqlite")
        for name in truth[truth.source_system == system]["source_table"].unique():
            key = tables()[(system, name)].key[0]
            real = {r[0] for r in con.execute(f'SELECT "{key}" FROM "{name}"')}
            assert (
                set(truth[(truth.source_system == system) & (truth.source_table == name)]["source_key"])
                <= real
            )
    for system in ("approval", "services"):
        for name in truth[truth.source_system == system]["source_table"].unique():
            key = tables()[(system, name)].key[0]
            lines = (out / "api" / system / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
            real = {json.loads(x)[key] for x in lines}
            assert (
                set(truth[(truth.source_system == system) & (truth.source_table == name)]["source_key"])
                <= real
            )
    hot = set()
    for f in (out / "landing" / "hotline").glob("*.jsonl"):
        for line in f.read_text(encoding="utf-8").splitlines():
            try:
                hot.add(json.loads(line)["gdbh"])
            except json.JSONDecodeError:
                pass
    assert set(truth[truth.source_system == "hotline"]["source_key"]) <= hot
    prop = _property_keys(out, m)
    t = truth[truth.source_system == "property"]
    assert {f"{a}|{b}" for a, b in zip(t.source_table, t.source_key)} <= prop


def test_person_hard_cases(small_out) -> None:
    out, _ = small_out
    persons = pd.read_parquet(out / "truth" / "persons.parquet")
    truth = pd.read_parquet(out / "truth" / "records.parquet")
    assert persons["id_no"].is_unique and persons["id_no"].map(is_valid_id_no).all()
    # twins: same household, same birth date, different ids and names
    twins = persons.groupby(["household_id", "birth_date"]).filter(lambda g: len(g) >= 2)
    assert len(twins) >= 2 and twins["name"].nunique() > 1
    # common names in one grid, shared phones, movers (two wg_syrk rows for one person)
    assert (persons[persons["name"].isin(["张伟", "王芳"])].groupby(["grid_code", "name"]).size() >= 2).any()
    assert persons["phone"].duplicated().any()
    syrk = truth[truth.source_table == "wg_syrk"]
    movers = syrk.groupby("person_id")["grid_code"].nunique()
    assert (movers >= 2).any()
    systems = truth.dropna(subset=["person_id"]).groupby("person_id")["source_table"].nunique()
    assert systems.max() >= 4


def test_multichannel_incidents(small_out) -> None:
    out, _ = small_out
    truth = pd.read_parquet(out / "truth" / "records.parquet").dropna(subset=["incident_id"])
    channels = truth.groupby("incident_id")["source_table"].nunique()
    assert (channels >= 2).sum() > 0 and (channels >= 3).sum() > 0


def test_increment(tmp_path: Path) -> None:
    out = tmp_path / "inc"
    simulator.generate(out, scale="tiny", seed=11)
    before = pd.read_parquet(out / "truth" / "records.parquet")
    hot_before = sorted((out / "landing" / "hotline").glob("*.jsonl"))
    summary = simulator.simulate_increment(out, seed=2, fraction=0.02)
    after = pd.read_parquet(out / "truth" / "records.parquet")
    assert len(after) > len(before)
    assert len(sorted((out / "landing" / "hotline").glob("*.jsonl"))) == len(hot_before) + 1
    con = sqlite3.connect(out / "grid.sqlite")
    assert con.execute("SELECT MAX(update_time) FROM wg_syrk").fetchone()[0] > "2026-01-01"
    resent = out / "landing" / "property" / summary["property"]["resent"]
    final_bytes = resent.read_bytes()
    simulator.restore_earlier_versions(out)
    assert resent.read_bytes() != final_bytes
    simulator.restore_final_versions(out)
    assert resent.read_bytes() == final_bytes
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["increments"][0]["number"] == 1


@pytest.mark.parametrize("scale", ["nope"])
def test_unknown_scale(tmp_path: Path, scale: str) -> None:
    with pytest.raises(ValueError):
        simulator.generate(tmp_path, scale=scale)
