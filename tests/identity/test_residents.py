"""Resident identity on a `small` demo city: coverage, persistent keys, no raw ID / phone leaks, accuracy;
and the same dbt identity build on PostgreSQL.

The city is the session's shared `small_demo` (tests/conftest.py). The resident models are rebuilt once on a
copy of its home (so the shared city stays untouched) to check that keys persist across a rebuild; the
PostgreSQL test reads the session's `small_pg` build of the same sources.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from bench.identity.scoring import bcubed  # noqa: E402

BIN = Path(sys.executable).parent
KEY = ["source_system", "source_table", "source_key"]
PERSON_TABLES = {
    ("party", "dj_dy"),
    ("party", "dj_bd"),
    ("party", "dj_fwjl"),
    ("party", "dj_org"),
    ("grid", "wg_syrk"),
    ("grid", "wg_wgy"),
    ("grid", "wg_sj"),
    ("approval", "cases"),
    ("property", "owners"),
    ("property", "complaints"),
    ("services", "orders"),
    ("hotline", "tickets"),
}
RESIDENT_MODELS = [
    "int_residents_records_unioned",
    "int_residents_records_prepared",
    "int_residents_match_weights",
    "int_residents_records_matched",
    "resident_key_registry",
    "resident_xref",
    "dim_resident",
    "resident_match_evidence",
    "resident_key_history",
    "resident_key_lookup",
]
IDENTITY_TABLES = [
    "resident_xref",
    "dim_resident",
    "resident_match_evidence",
    "resident_key_history",
    "resident_key_registry",
]


def _run(args: list[str], env: dict[str, str]) -> None:
    p = subprocess.run(args, env=env, capture_output=True, text=True, cwd=REPO)
    assert p.returncode == 0, f"{' '.join(args[:3])} failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"


def _dbt(args: list[str], env: dict[str, str]) -> None:
    _run(
        [
            str(BIN / "dbt"),
            *args,
            "--project-dir",
            str(REPO / "dbt_project"),
            "--profiles-dir",
            str(REPO / "dbt_project"),
        ],
        env,
    )


def _read(home: Path, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return con.sql(sql).df()
    finally:
        con.close()


@pytest.fixture(scope="module")
def city(small_demo, tmp_path_factory: pytest.TempPathFactory) -> dict:
    before = _read(small_demo.home, "select * from identity.resident_xref")
    # the rebuild writes the warehouse: on a copy (same file name, so dbt-duckdb's catalog name is the same)
    home = tmp_path_factory.mktemp("identity_rebuild")
    for f in small_demo.home.glob("warehouse.duckdb*"):  # the file and its WAL, if any
        shutil.copy2(f, home / f.name)
    (home / "sources").symlink_to(small_demo.sources, target_is_directory=True)
    env = {
        **small_demo.env,
        "YIWANG_HOME": str(home),
        "YIWANG_DUCKDB_PATH": str(home / "warehouse.duckdb"),
        "DBT_TARGET_PATH": str(home / "dbt_target"),
        "DBT_LOG_PATH": str(home / "dbt_logs"),
    }
    _dbt(["run", "--target", "duckdb", "--select", *RESIDENT_MODELS], env)
    after = _read(home, "select * from identity.resident_xref")
    truth = pd.read_parquet(home / "sources" / "truth" / "records.parquet")
    return {"home": home, "env": env, "before": before, "after": after, "truth": truth}


def test_every_person_record_has_exactly_one_xref_row(city: dict) -> None:
    x = city["after"]
    assert not x.duplicated(KEY).any()
    assert x["resident_key"].notna().all()
    assert set(map(tuple, x[["source_system", "source_table"]].drop_duplicates().to_numpy())) == PERSON_TABLES
    expected = _read(city["home"], "select count(*) as n from staging.int_residents_records_unioned")["n"][0]
    assert len(x) == expected
    # every truth record of a person in those tables is there (the truth uses the same source_key convention)
    t = city["truth"]
    t = t[
        t["person_id"].notna() & t.apply(lambda r: (r.source_system, r.source_table) in PERSON_TABLES, axis=1)
    ]
    missing = t[KEY].merge(x[KEY], on=KEY, how="left", indicator=True)
    missing = missing[missing["_merge"] == "left_only"]
    assert len(missing) == 0, missing.head(10)


def test_keys_persist_across_a_rebuild(city: dict) -> None:
    d = city["before"].merge(city["after"], on=KEY, suffixes=("_0", "_1"))
    assert len(d) == len(city["after"])
    assert (d["resident_key_0"] == d["resident_key_1"]).all()
    hist = _read(city["home"], "select count(*) as n from identity.resident_key_history")["n"][0]
    assert hist == 0


def test_no_raw_id_or_phone_leaves_staging(city: dict) -> None:
    home = city["home"]
    raw = _read(
        home,
        """
        select id_no as v from staging.int_residents_records_unioned where id_no is not null
        union select phone from staging.int_residents_records_unioned where phone is not null
        union select phone_2 from staging.int_residents_records_unioned where phone_2 is not null""",
    )
    raw_values = set(raw["v"])
    pattern = re.compile(r"[0-9]{17}[0-9Xx]|[0-9]{15}|1[3-9][0-9]{9}")
    for schema, table in [("identity", t) for t in IDENTITY_TABLES] + [
        ("identity_work", "int_residents_records_prepared"),
        ("identity_work", "int_residents_records_matched"),
    ]:
        df = _read(home, f"select * from {schema}.{table}")
        for col in df.columns:
            values = df[col].dropna().astype(str)
            assert not values.isin(raw_values).any(), f"{schema}.{table}.{col} holds a raw ID number or phone"
            if col.endswith(("source_key", "_hmac")) or col in (
                "record_ref",
                "matched_record_ref",
                "cluster_ref",
                "grid_code",
            ):
                continue  # contract record keys (long case numbers), 15-digit grid codes, hex HMAC pseudonyms
            hits = values[values.str.contains(pattern)]
            assert hits.empty, f"{schema}.{table}.{col} looks like an ID/phone: {hits.head(3).tolist()}"


def test_resident_bcubed_f1_on_small(city: dict) -> None:
    t = city["truth"].dropna(subset=["person_id"])
    d = (
        t[KEY + ["person_id"]]
        .merge(city["after"], on=KEY)
        .rename(columns={"resident_key": "pred", "person_id": "true"})
    )
    score = bcubed(d)
    assert score.f1 >= 0.98, score
    assert score.precision >= 0.99, score


def test_match_weights_are_learnt_from_the_city(city: dict) -> None:
    """The Fellegi–Sunter weights come from this city's records: every comparison was seen on pairs sharing a
    valid ID, agreement is evidence for (m > u, positive weight) and disagreement against, the prior is the
    odds of two random records being one person (far below even); no probabilistic merge is below the
    required probability, and every merge's weight is explained by its agreed fields."""
    w = _read(city["home"], "select * from identity_work.int_residents_match_weights").set_index("comparison")
    assert set(w.index) == {"prior", "name", "phone", "flat", "id_partial", "birth_date", "household_phone"}
    fields = w.drop(index="prior")
    assert (fields["pairs_compared"] > 0).all(), fields
    assert (fields["m_probability"] > fields["u_probability"]).all(), fields
    assert (fields["agree_weight"] > 0).all() and (fields["disagree_weight"] < 0).all(), fields
    n_records = _read(city["home"], "select count(*) as n from identity_work.int_residents_records_prepared")[
        "n"
    ][0]
    assert w.loc["prior", "agree_weight"] < -3, w.loc["prior"]
    assert 0 < w.loc["prior", "m_probability"] < 10 / n_records, w.loc["prior"]  # of the order of 1/N
    m = _read(
        city["home"],
        "select match_rule, agreed_fields, match_score, match_probability "
        "from identity_work.int_residents_records_matched "
        "where match_rule in ('probabilistic_anchor', 'probabilistic_link')",
    )
    assert len(m) > 0
    assert (m["match_probability"].astype(float) >= 0.95).all(), m.sort_values("match_probability").head()
    assert m["agreed_fields"].str.startswith("name").all()  # a merge always rests on an agreeing name


def test_identity_build_on_postgres(city: dict, small_pg) -> None:
    """Same sources, extracted into PostgreSQL, identity models built with target postgres: same keys."""
    from sqlalchemy import create_engine

    eng = create_engine(small_pg.url)
    with eng.connect() as c:
        pg = pd.read_sql(
            "select source_system, source_table, source_key, resident_key from identity.resident_xref", c
        )
        pg_hmac = pd.read_sql(
            "select record_ref, id_hmac, phone_hmac from identity_work.int_residents_records_prepared "
            "where id_hmac is not null order by record_ref limit 200",
            c,
        )
        pg_weights = pd.read_sql("select * from identity_work.int_residents_match_weights", c)
    eng.dispose()
    duck = city["after"]
    assert len(pg) == len(duck)
    d = duck.merge(pg, on=KEY, suffixes=("_duck", "_pg"))
    assert len(d) == len(duck)
    assert (d["resident_key_duck"] == d["resident_key_pg"]).mean() >= 0.999
    duck_hmac = _read(
        city["home"],
        "select record_ref, id_hmac, phone_hmac from "
        "identity_work.int_residents_records_prepared where id_hmac is not null",
    )
    m = pg_hmac.merge(duck_hmac, on="record_ref", suffixes=("_pg", "_duck"))
    assert len(m) and (m["id_hmac_pg"] == m["id_hmac_duck"]).all()
    # the same records learn the same weights on both engines (integer counts, one division each)
    duck_weights = _read(city["home"], "select * from identity_work.int_residents_match_weights")
    wd = duck_weights.merge(pg_weights, on="comparison", suffixes=("_duck", "_pg"))
    assert len(wd) == len(duck_weights) == 7
    assert (wd["pairs_compared_duck"] == wd["pairs_compared_pg"]).all()
    assert ((wd["agree_weight_duck"] - wd["agree_weight_pg"]).abs() < 1e-9).all(), wd
