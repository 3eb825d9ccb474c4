"""Every dirt and fault string of the contract: registered (simulator/dirt_catalog.py), simulated, and
normalised by staging.

- Every `dirt:` / `faults:` string of yiwang/contracts/source_systems.yaml ("same as" resolved) has an entry
  in `simulator.dirt_catalog.FORMS`, and every simulator kind serves at least one contract string.
- The `small` city (dirt rate 0.05: every kind at its rate, at least one row each) holds every value-level
  form at every field the contract lists it for, and every cell the dirt log says a kind dirtied has a
  contract form of that kind.
- Staging: each dirtied cell of the `small` city and the same cell of the same city simulated without dirt
  (the dirt draws from its own random streams, so the twin differs exactly in the logged cells) go through
  the staging macros (compiled by dbt, run on a throwaway DuckDB); the dirty value normalises to what the
  clean one does, or is flagged / NULL where the contract's form destroyed the value (Excel-mangled IDs,
  placeholders, a wrong check char).
- File, row and request faults: the hard forms are checked in the output (a malformed line cut inside a
  field with no intact twin, a re-sent file, "null"/无 IDs, full-width Ｘ) and the demo's API faults.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import simulator
from simulator.dirt import ALL_KINDS, STRUCTURAL_KINDS, DirtConfig
from simulator.dirt_catalog import CLEAN, FORMS, contract_forms, forms_by_kind, unknown_kinds, unregistered
from simulator.ids import is_valid_id_no

REPO = Path(__file__).resolve().parents[2]
SQL_KEYS = {
    ("party", "dj_org"): "org_id",
    ("party", "dj_dy"): "dy_id",
    ("party", "dj_bd"): "bd_id",
    ("grid", "wg_syrk"): "rkid",
    ("grid", "wg_sj"): "sjbh",
}
API_KEYS = {("approval", "cases"): "bjbh"}
VALUE_FORMS = [
    c for c in contract_forms() if FORMS.get((c.defined_at, c.text)) and FORMS[(c.defined_at, c.text)].form
]
# the property files' dirt names no field: the field each form is in
OWNER_FIELDS = {
    "owners_merged_room": "fh",
    "owners_masked_id": "yzzjhm",
    "owners_excel_id": "yzzjhm",
    "name_title_only": "tsr",
}


@pytest.fixture(scope="module")
def clean_twin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's `small` city (seed 42) simulated without dirt."""
    out = tmp_path_factory.mktemp("sim_small_clean")
    simulator.generate(out, scale="small", seed=42, dirt_rate=0.0)
    return out


# ------------------------------------------------------------------ reading a simulated city as it lands


def _owner_rows(out: Path, kind: str = "owners") -> list[dict]:
    """Every property owners (or complaints) row as the connectors parse it (header variants mapped, cells
    as text)."""
    from connectors.tabular import parse_csv, parse_xlsx
    from yiwang.contracts import load_contract

    table = load_contract().table("property", kind)
    rows = []
    for f in sorted((out / "landing" / "property").rglob(f"{kind}.*")):
        if f.stat().st_size == 0:
            continue
        parsed = parse_xlsx(f, table) if f.suffix == ".xlsx" else parse_csv(f.read_bytes(), table)
        rows += parsed.rows
    return rows


def _owner_key(r: dict) -> str:
    fh = (r.get("fh") or "").strip()
    m = re.fullmatch(r"(\d+)-(\d+)-(\d+)", fh)
    ld, dy, fh = m.groups() if m and not r.get("ld") else (r.get("ld"), r.get("dy"), fh)
    return f"{(r.get('xqmc') or '').strip()}|{ld}|{dy}|{fh}"


def _column(out: Path, system: str, table: str, fld: str) -> dict[str, object]:
    """key -> value of one field as delivered."""
    if (system, table) in SQL_KEYS:
        key = SQL_KEYS[(system, table)]
        con = sqlite3.connect(out / f"{system}.sqlite")
        try:
            return dict(con.execute(f'select "{key}", "{fld}" from "{table}"').fetchall())
        finally:
            con.close()
    if (system, table) in API_KEYS:
        key = API_KEYS[(system, table)]
        lines = (out / "api" / system / f"{table}.jsonl").read_text(encoding="utf-8").splitlines()
        return {r[key]: r.get(fld) for r in map(json.loads, lines)}
    if (system, table) == ("property", "owners"):
        return {_owner_key(r): r.get(fld) for r in _owner_rows(out)}
    if (system, table) == ("property", "complaints"):
        return {(r.get("tsbh") or "").strip(): r.get(fld) for r in _owner_rows(out, "complaints")}
    if (system, table) == ("hotline", "tickets"):
        got = {}
        for f in sorted((out / "landing" / "hotline").glob("*.jsonl")):
            for line in f.read_text(encoding="utf-8").splitlines():
                try:
                    r = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a malformed line (its own dirt)
                got[r["gdbh"]] = r.get(fld)
        return got
    raise KeyError((system, table))


def _field_of(where: str, kinds: tuple[str, ...]) -> tuple[str, str, str]:
    parts = where.split(".")
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    return parts[0], parts[1], OWNER_FIELDS[kinds[0]]


# ------------------------------------------------------------------ registry


def test_every_contract_string_has_a_registered_kind() -> None:
    forms = contract_forms()
    assert len(forms) > 60
    missing = unregistered()
    assert not missing, "contract dirt/fault strings without a simulator kind: " + "; ".join(
        f"{c.where}: {c.text!r}" for c in missing
    )
    assert not unknown_kinds()
    # "same as" references resolved: wg_syrk.sfzh and approval's cases carry party.dj_dy.sfzh's list,
    # the services API approval's faults
    by_where = defaultdict(set)
    for c in forms:
        by_where[c.where].add(c.text)
    assert by_where["grid.wg_syrk.sfzh"] == by_where["approval.cases.sqrzjhm"] == by_where["party.dj_dy.sfzh"]
    assert "null" in by_where["grid.wg_syrk.sfzh"]
    assert (
        by_where["services.faults"] == by_where["approval.faults"] and len(by_where["approval.faults"]) == 4
    )
    # and the other way round: every simulator kind produces some contract string
    served = forms_by_kind()
    assert not [k for k in [*ALL_KINDS, *STRUCTURAL_KINDS] if k not in served]
    assert set(FORMS) == {(c.defined_at, c.text) for c in forms}, (
        "entries for strings the contract no longer has"
    )


def test_traditional_names_round_trip_through_staging_t2s() -> None:
    """The simulator's simplified -> traditional map only writes real traditional forms: each one comes back
    to the same character through staging's OpenCC table (肖 stays 肖: 蕭 is the surname 萧)."""
    from simulator.names import TRADITIONAL

    src = (REPO / "dbt_project" / "macros" / "t2s_map.sql").read_text(encoding="utf-8")
    frm = re.search(r"macro t2s_from\(\) -%\}\n(.*?)\n", src).group(1)
    to = re.search(r"macro t2s_to\(\) -%\}\n(.*?)\n", src).group(1)
    t2s = dict(zip(frm, to))
    bad = {chr(s): t for s, t in TRADITIONAL.items() if t2s.get(t, t) != chr(s)}
    assert not bad
    assert "肖" not in {chr(s) for s, t in TRADITIONAL.items() if t != chr(s)}


# ------------------------------------------------------------------ simulated


@pytest.mark.parametrize("cf", VALUE_FORMS, ids=lambda c: f"{c.where}:{c.text}")
def test_value_form_is_simulated(cf, small_out) -> None:
    out, _ = small_out
    form = FORMS[(cf.defined_at, cf.text)]
    system, table, fld = _field_of(cf.where, form.kinds)
    values = [v for v in _column(out, system, table, fld).values()]
    rx = re.compile(form.form)
    hits = [v for v in values if rx.search("" if v is None else str(v))]
    assert hits, f"{cf.where}: no value of the form {cf.text!r} ({form.form}) in {len(values)} values"


def test_logged_dirt_has_its_contract_form(small_out) -> None:
    """Every cell the dirt log says a kind dirtied holds a contract form registered for that kind."""
    out, _ = small_out
    log = pd.read_parquet(out / "truth" / "dirt.parquet")
    defined = {c.where: c.defined_at for c in contract_forms()}
    problems = []
    for (system, table, fld, kind), g in log.groupby(["source_system", "source_table", "field", "kind"]):
        if fld == "_row":
            continue
        where = defined.get(f"{system}.{table}.{fld}") or defined.get(f"{system}.{table}")
        forms = [f for (d, _), f in FORMS.items() if d == where and kind in f.kinds and f.form]
        assert forms, (system, table, fld, kind)
        col = _column(out, system, table, fld)
        for key in g["source_key"]:
            v = col.get(key, "<missing>")
            s = "" if v is None else str(v)
            if not any(re.search(f.form, s) for f in forms):
                problems.append((system, table, fld, kind, key, v))
            elif kind == "id_wrong_check_char" and is_valid_id_no(s):
                problems.append((system, table, fld, kind, key, v))
    assert not problems, problems[:10]


def test_hard_forms_are_simulated(small_out) -> None:
    out, m = small_out
    ids = []
    for system, table, fld in (
        ("party", "dj_dy", "sfzh"),
        ("grid", "wg_syrk", "sfzh"),
        ("approval", "cases", "sqrzjhm"),
    ):
        ids += list(_column(out, system, table, fld).values())
    assert "null" in ids and "无" in ids and None in ids
    x_ids = [v for v in ids if isinstance(v, str) and v.endswith(("X", "x", "Ｘ"))]
    assert sum(v.endswith("Ｘ") for v in x_ids) >= 2, "full-width Ｘ check chars"
    # hotline: a malformed line cut inside a field, some with no intact copy of their ticket anywhere
    hot = m["files"]["hotline"]
    assert hot["malformed_lines"] > hot["malformed_only_copy"] > 0
    intact, cut = set(), []
    for f in sorted((out / "landing" / "hotline").glob("*.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            try:
                intact.add(json.loads(line)["gdbh"])
            except json.JSONDecodeError:
                cut.append(line)
    assert len(cut) == hot["malformed_lines"]
    for line in cut:  # cut inside the nr value, not on a field boundary
        assert '"nr":"' in line and not line.endswith(('"', ",", ":")), line[-40:]
    keys = [re.search(r'"gdbh":"([^"]+)"', line).group(1) for line in cut]
    orphans = [k for k in keys if k not in intact]
    assert len(orphans) == hot["malformed_only_copy"]
    truth = pd.read_parquet(out / "truth" / "records.parquet")
    assert not set(orphans) & set(truth.loc[truth.source_system == "hotline", "source_key"])
    # property: re-sent files with an earlier version to land first
    assert m["files"]["property"]["resent"]
    for rel in m["files"]["property"]["resent"]:
        assert (out / "truth" / "resend" / "earlier" / "property" / rel).exists()
    # structural delivery variants
    comps = m["files"]["property"]["companies"]
    assert {c["encoding"] for c in comps} >= {"gbk", "utf-8-sig", None}
    assert any(c["extra_columns"] for c in comps)
    assert len({json.dumps(c["headers"], sort_keys=True, ensure_ascii=False) for c in comps}) > 1


def test_api_faults_follow_the_dirt_rates(small_out) -> None:
    from simulator.http_api import FaultConfig

    out, _ = small_out
    f = FaultConfig.from_manifest(out)
    assert f.rate_429 == f.rate_5xx == f.repeat_page == pytest.approx(0.05)
    assert f.extra_field_name and f.retry_after <= 1
    off = FaultConfig.from_dirt(DirtConfig(0.0))
    assert off.rate_429 == off.rate_5xx == off.repeat_page == 0 and off.extra_field_name is None
    one = FaultConfig.from_dirt(DirtConfig(0.0, {"http_5xx": 0.2}))
    assert one.rate_5xx == 0.2 and one.rate_429 == 0


# ------------------------------------------------------------------ normalised by staging

N = "@@"  # the value in a check's SQL


def _id_partial_dirty() -> str:
    return "{{ idn_id_partial('cast(null as varchar)', id_no_masked_of('@@')) }}"


# (form's defined_at, text) -> checks: (SQL on the dirty value, SQL on the clean value or None = same SQL, expect)
# expect: "same" (equal and not NULL), "null", "notnull", or "=<text>": the text the dirty value's SQL must give
GRID_NO = "{{ cn_to_int(regex_extract(clean_text('@@'), grid_text_pattern(), 2)) }}"
FLAT = " || '|' || ".join(
    f"{{{{ regex_extract(idn_address_clean('@@'), idn_flat_pattern(), {g}) }}}}" for g in (2, 3, 4)
)
ID_NORM = "{{ id_no_normalize('@@') }}"
PHONE1 = "{{ phone_normalize('@@', 1) }}"
CHECKS: dict[tuple[str, str], list[tuple[str, str | None, str]]] = {
    **{("party.dj_org.wgmc", t): [(GRID_NO, None, "same")] for t in ("第3网格", "三网格", "前进社区3网格")},
    ("party.dj_org.wgmc", "a 15-digit grid_code"): [
        ("cast(substr({{ grid_code_in_text('@@') }}, 13, 3) as integer)", GRID_NO, "same")
    ],
    ("party.dj_org.host_uscc", "lowercase"): [("{{ normalize_uscc('@@') }}", None, "same")],
    ("party.dj_org.host_uscc", "legacy 9-digit org code 12345678-9"): [
        ("{{ legacy_org_code('@@') }}", "{{ uscc_to_legacy_code(normalize_uscc('@@')) }}", "same")
    ],
    **{
        ("party.dj_dy.xm", t): [("{{ clean_person_name('@@') }}", None, "same")]
        for t in (
            "traditional characters",
            "张三（书记）",
            "trailing spaces",
            "middle dot vs period in minority names",
        )
    },
    **{("party.dj_dy.xb", t): [("{{ normalize_gender('@@') }}", None, "same")] for t in ("1", "2", "M", "F")},
    **{
        ("party.dj_dy.sfzh", t): [(ID_NORM, None, "same"), ("{{ id_no_is_valid('@@') }}", None, "same")]
        for t in ("15-digit legacy", "lowercase x", "full-width digits", "spaces or hyphens")
    },
    ("party.dj_dy.sfzh", "4.20103E+17"): [
        (ID_NORM, None, "null"),
        ("{{ id_no_kind_of('@@') }}", None, "=excel_mangled"),
    ],
    ("party.dj_dy.sfzh", "wrong check char"): [("{{ id_no_is_valid('@@') }}", None, "=false")],
    ("party.dj_dy.sfzh", "null"): [(ID_NORM, None, "null"), ("{{ id_no_kind_of('@@') }}", None, "=null")],
    **{
        ("party.dj_dy.csrq", t): [("{{ parse_date('@@') }}", None, "same")]
        for t in ("1964/2/15", "19640215", "1964年2月15日", "Excel serial")
    },
    **{("party.dj_dy.mz", t): [("{{ normalize_ethnicity('@@') }}", None, "same")] for t in ("汉", "01")},
    **{("party.dj_dy.sjhm", t): [(PHONE1, None, "same")] for t in ("+86 138-0013-8000", "8613800138000")},
    ("party.dj_dy.sjhm", "(027)85551234"): [
        ("{{ let_in(phone_part_digits('@@', 1), phone_kind('__pd'), '__pd') }}", None, "=landline")
    ],
    ("party.dj_dy.sjhm", "two numbers in one field"): [
        (PHONE1, None, "same"),
        ("{{ phone_normalize('@@', 2) }}", None, "notnull"),
    ],
    ("party.dj_dy.sjhm", "13800000000"): [(PHONE1, None, "null")],
    **{
        ("party.dj_dy.jtzz", t): [(FLAT, None, "same")]
        for t in ("with or without province and city", "3-2-501", "三栋二单元五〇一", "estate alias")
    },
    **{
        ("party.dj_bd.czd_sq", t): [("{{ community_core('@@') }}", None, "same")]
        for t in ("前进社区居委会", "前进居委会")
    },
    ("grid.wg_sj.lbdm", "codes unknown to the reference list"): [("{{ clean_text('@@') }}", None, "notnull")],
    # the stated code is gone (int_grid_events_categorised then finds the category in sjms; its own unit test)
    ("grid.wg_sj.lbdm", "category only as text in sjms"): [("{{ clean_text('@@') }}", None, "null")],
    **{
        ("grid.wg_sj.myd", t): [("{{ normalize_satisfaction('@@') }}", None, "same")] for t in ("5", "3", "1")
    },
    ("property.owners", "id numbers partly masked, e.g. 420106********1234"): [
        (_id_partial_dirty(), "{{ idn_id_partial(id_no_normalize('@@'), 'cast(null as varchar)') }}", "same")
    ],
    # a title-only name cannot give the name back: identity reads it as no name (the sex kept)
    ("hotline.tickets.ldr", "李先生 / 王女士: surname and title only"): [
        ("{{ idn_title_only(clean_person_name('@@')) }}", None, "=true")
    ],
    ("property.complaints", "complainants named by surname and title only, e.g. 王女士"): [
        ("{{ idn_title_only(clean_person_name('@@')) }}", None, "=true")
    ],
    ("property.owners", "Excel-mangled id numbers"): [
        (ID_NORM, None, "null"),
        ("{{ id_no_kind_of('@@') }}", None, "=excel_mangled"),
    ],
}
# forms whose handling is not a value normaliser (rows, files, the clean form itself)
NOT_VALUE_NORMALISED = {(d, t) for (d, t), f in FORMS.items() if f.level != "value" or f.kinds == (CLEAN,)}


def test_every_value_form_has_a_staging_check() -> None:
    value_forms = {k for k, f in FORMS.items() if f.level == "value"} - NOT_VALUE_NORMALISED
    assert value_forms <= set(CHECKS), sorted(value_forms - set(CHECKS))


def _pairs(dirty: Path, clean: Path) -> list[tuple[tuple[str, str], str, object, object]]:
    """(form key, kind, dirty value, clean value) for every dirtied cell of a field with a value form."""
    log = pd.read_parquet(dirty / "truth" / "dirt.parquet")
    defined = {c.where: c.defined_at for c in contract_forms()}
    out = []
    for (system, table, fld, kind), g in log.groupby(["source_system", "source_table", "field", "kind"]):
        if fld == "_row":
            continue
        where = defined.get(f"{system}.{table}.{fld}") or defined.get(f"{system}.{table}")
        forms = [(d, t) for (d, t), f in FORMS.items() if d == where and kind in f.kinds and (d, t) in CHECKS]
        d_col, c_col = _column(dirty, system, table, fld), _column(clean, system, table, fld)
        for key in g["source_key"]:
            dv, cv = d_col.get(key), c_col.get(key)
            for fk in forms:
                f = FORMS[fk]
                if re.search(f.form, "" if dv is None else str(dv)):
                    if kind == "id_legacy15" and str(cv)[6:8] != "19":
                        continue  # born 2000+: identity re-centuries it from the birth date (idn_legacy_century)
                    out.append((fk, kind, dv, cv))
                    break
    return out


def _lit(v: object) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "cast(null as varchar)"
    return "'" + str(v).replace("'", "''") + "'"


def _compile(sql: str, tmp: Path) -> str:
    """dbt-compiles an inline query against dbt_project/ (duckdb target on a throwaway file)."""
    import os

    from dbt.cli.main import dbtRunner

    old = os.environ.get("YIWANG_DUCKDB_PATH")
    os.environ["YIWANG_DUCKDB_PATH"] = str(tmp / "compile.duckdb")
    try:
        res = dbtRunner().invoke(
            [
                "compile",
                "--inline",
                sql,
                "--quiet",
                "--target",
                "duckdb",
                "--project-dir",
                str(REPO / "dbt_project"),
                "--profiles-dir",
                str(REPO / "dbt_project"),
                "--target-path",
                str(tmp / "target"),
                "--log-path",
                str(tmp / "logs"),
            ]
        )
    finally:
        if old is None:
            os.environ.pop("YIWANG_DUCKDB_PATH", None)
        else:
            os.environ["YIWANG_DUCKDB_PATH"] = old
    assert res.success, res.exception
    return res.result.results[0].node.compiled_code


def test_staging_normalises_every_dirty_form(small_out, clean_twin, tmp_path: Path) -> None:
    import duckdb

    out, _ = small_out
    pairs = _pairs(out, clean_twin)
    seen = {fk for fk, *_ in pairs}
    assert set(CHECKS) <= seen, f"no dirtied cell to check for {sorted(set(CHECKS) - seen)}"
    parts, meta = [], []
    for fk, checks in CHECKS.items():
        rows = [(i, dv, cv) for i, (k, _kind, dv, cv) in enumerate(pairs) if k == fk]
        values = ", ".join(f"({i}, {_lit(dv)}, {_lit(cv)})" for i, dv, cv in rows)
        for j, (dsql, csql, expect) in enumerate(checks):
            n = len(meta)
            meta.append((fk, dsql, expect))
            parts.append(
                f"select {n} as chk, i, d, c, cast({dsql.replace(N, 'd')} as varchar) as nd, "
                f"cast({(csql or dsql).replace(N, 'c')} as varchar) as nc "
                f"from (values {values}) as v{n}_{j}(i, d, c)"
            )
    compiled = _compile("\nunion all\n".join(parts), tmp_path)
    res = duckdb.connect().execute(compiled).fetchall()
    failures = []
    for chk, _i, d, c, nd, nc in res:
        fk, dsql, expect = meta[chk]
        ok = {"same": nd is not None and nd == nc, "null": nd is None, "notnull": nd is not None}.get(
            expect, nd == expect[1:]
        )
        if not ok:
            failures.append(
                f"{fk[0]} {fk[1]!r}: {dsql[:50]} on {d!r} -> {nd!r}, clean {c!r} -> {nc!r}, expected {expect}"
            )
    assert not failures, "\n".join(failures[:25]) + f"\n({len(failures)} failures)"
    assert len({r[0] for r in res}) == len(meta)


def test_demo_api_shows_every_fault_on_a_small_city(small_out) -> None:
    """With the demo's faults (FaultConfig.from_manifest) even a city with few pages meets a 429 with
    Retry-After, a 502 and a 503, a repeated page and the added field; the paging still gives every record."""
    import requests

    from simulator.http_api import FaultConfig, serve_in_thread

    out, _ = small_out
    faults = FaultConfig.from_manifest(out)
    h = serve_in_thread(out, approval_token="tok", services_api_key="key", faults=faults)
    try:
        url = f"{h.url}/services/api/v1/life_items"
        statuses, rows, token, retry_after = [], [], None, []
        for _ in range(50):
            r = requests.get(
                url,
                headers={"X-API-Key": "key"},
                params={"page_size": 300, **({"page_token": token} if token else {})},
                timeout=10,
            )
            statuses.append(r.status_code)
            if r.status_code == 429:
                retry_after.append(int(r.headers["Retry-After"]))
                continue
            if r.status_code != 200:
                continue
            body = r.json()
            rows += body["items"]
            token = body["next_page_token"]
            if not token:
                break
        assert statuses[:3] == [429, 502, 503] and set(retry_after) == {1}
        keys = [x["fwbm"] for x in rows]
        assert len(keys) > len(set(keys)) == 526  # a page came twice, nothing was lost
        assert all(x.get("kzzd") is not None for x in rows)
    finally:
        h.stop()
