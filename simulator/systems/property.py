"""物业企业报送: estates / owners / complaints files per company, with the contract's file faults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from simulator.contract import table
from simulator.dirt import apply, assign, count_files, title_only_applicability, title_only_name
from simulator.effects import complaints_to_drop, years_of
from simulator.ids import legacy_org_code
from simulator.timegen import add_seconds, fmt_date, fmt_local
from simulator.world import World, dirty_column
from simulator.writers.tabular_files import csv_bytes, write_bytes, xlsx_bytes

SYSTEM = "property"
FORMATS = ["csv_gbk", "csv_utf8_bom", "xlsx", "csv_utf8", "xlsx", "csv_gbk"]
ENCODINGS = {"csv_gbk": "gbk", "csv_utf8_bom": "utf-8-sig", "csv_utf8": "utf-8"}
EXTRA_COLUMNS = {1: ["备注", "物业费单价"], 4: ["备注"], 5: ["录入人"]}
FIRST_MONTH = "2024-01"
REDELIVERY_MONTH = "01"  # each later year of the window, every company delivers its estates file again


@dataclass
class CompanyFormat:
    folder: str
    fmt: str
    headers: dict[str, dict[str, str]]  # file kind -> canonical field -> header text
    extra_columns: list[str]
    merged_room: bool = False
    extra_sheet: bool = False

    @property
    def ext(self) -> str:
        return "xlsx" if self.fmt == "xlsx" else "csv"

    def to_dict(self) -> dict:
        return {
            "folder": self.folder,
            "format": self.fmt,
            "encoding": ENCODINGS.get(self.fmt),
            "headers": self.headers,
            "extra_columns": self.extra_columns,
            "merged_room": self.merged_room,
            "extra_sheet": self.extra_sheet,
        }


@dataclass
class PropertyFile:
    rel: str  # company/YYYY-MM/kind.ext
    kind: str
    company: int
    rows: pd.DataFrame  # canonical columns (+ truth helpers prefixed with _)
    earlier: pd.DataFrame | None = None
    truncated: bool = False
    empty: bool = False
    meta: dict = field(default_factory=dict)


def company_formats(world: World) -> list[CompanyFormat]:
    rng = world.fixed_rng("property", "formats")
    comps = world.geo.companies
    n_merged = count_files(world.dirt, "owners_merged_room", len(comps))
    merged = set(rng.choice(len(comps), size=n_merged, replace=False).tolist()) if n_merged else set()
    out = []
    for c in comps.itertuples():
        headers = {}
        for kind in ("estates", "owners", "complaints"):
            spec = table(SYSTEM, kind).headers
            headers[kind] = {
                f: variants[(c.company_idx + j) % len(variants)]
                for j, (f, variants) in enumerate(spec.items())
            }
        if c.company_idx in merged:
            headers["owners"]["fh"] = "房号"
        fmt = FORMATS[c.company_idx % len(FORMATS)]
        out.append(
            CompanyFormat(
                c.folder,
                fmt,
                headers,
                EXTRA_COLUMNS.get(c.company_idx, []),
                merged_room=c.company_idx in merged,
                extra_sheet=(fmt == "xlsx" and c.company_idx == 2),
            )
        )
    return out


def build_property(world: World, formats: list[CompanyFormat]) -> list[PropertyFile]:
    estates = _estates(world, formats)
    files = estates + _owners(world, formats) + _complaints(world, formats, estates)
    _file_faults(world, files, formats)
    return files


def _estates(world: World, formats: list[CompanyFormat]) -> list[PropertyFile]:
    rng = world.rng("property", "estates")
    est = world.geo.estates
    persons = world.pop.persons
    hs = persons.drop_duplicates("household").groupby("estate_idx").size()
    comm = world.geo.communities.set_index("community_code")["name"]
    comps = world.geo.companies
    files = []
    for c in comps.itertuples():
        sel = est[est["company_idx"] == c.company_idx]
        n = len(sel)
        legacy = formats[c.company_idx].headers["estates"]["wyqy_uscc"] == "组织机构代码"
        rows = pd.DataFrame(
            {
                "xqmc": sel["property_name"].to_numpy(),
                "dz": [f"{r}{num}号" for r, num in zip(sel["road"], sel["number"])],
                "sq": comm.reindex(sel["community_code"]).to_numpy(),
                "wyqy": c.name,
                "wyqy_uscc": legacy_org_code(c.uscc) if legacy else c.uscc,
                "hs": hs.reindex(sel.index).fillna(0).astype(int).to_numpy(),
                "ld": sel["buildings"].to_numpy(),
                "ywh": np.where(rng.random(n) < 0.6, "是", "否"),
                "dzz": np.where(rng.random(n) < 0.5, "是", "否"),
                "jcnf": sel["built_year"].to_numpy(),
                "_estate_id": sel["estate_id"].to_numpy(),
                "_grid_code": sel["grid_code"].to_numpy(),
                "_org_id": c.uscc,
            }
        )
        files.append(
            PropertyFile(
                f"{c.folder}/{FIRST_MONTH}/estates.{formats[c.company_idx].ext}",
                "estates",
                c.company_idx,
                rows,
            )
        )
        for year in range(world.start.year + 1, world.end.year + 1):
            rows = _estates_redelivered(world, rows, c.company_idx, year)
            files.append(
                PropertyFile(
                    f"{c.folder}/{year}-{REDELIVERY_MONTH}/estates.{formats[c.company_idx].ext}",
                    "estates",
                    c.company_idx,
                    rows,
                    meta={"redelivery": True},
                )
            )
    return files


def _estates_redelivered(world: World, rows: pd.DataFrame, company_idx: int, year: int) -> pd.DataFrame:
    """The company's estates file delivered again in January of a later year (the layout's {YYYY-MM} folders):
    the same estates (key xqmc + company), a share of them with attributes changed since the last delivery:
    an owners' committee (业委会) or a party organisation (物业党组织) established since. The share is the dirt
    rate (at least one estate when the rate is > 0); its own random stream, so nothing else moves. In effect
    mode (simulator.effects) the flags define the joint mechanism for both years, so they stay as delivered."""
    rng = world.rng("property", "estates_redelivery", company_idx, year)
    out = rows.copy()
    n = len(out)
    if n == 0 or world.dirt.rate <= 0 or world.effects.joint_mechanism_complaint_drop > 0:
        return out
    change = rng.random(n) < world.dirt.rate
    if not change.any():
        change[rng.integers(0, n)] = True
    col = np.where(rng.random(n) < 0.5, "ywh", "dzz")
    for i in np.flatnonzero(change):
        c = col[i] if out.iloc[i][col[i]] == "否" else ("dzz" if col[i] == "ywh" else "ywh")
        out.iat[i, out.columns.get_loc(c)] = "是"
    return out


def _owners(world: World, formats: list[CompanyFormat]) -> list[PropertyFile]:
    rng = world.rng("property", "owners")
    persons = world.pop.persons
    est = world.geo.estates
    heads = persons[persons["role"].to_numpy() == 0]
    company = est["company_idx"].to_numpy()[heads["estate_idx"].to_numpy()]
    files = []
    for c in world.geo.companies.itertuples():
        h = heads[company == c.company_idx]
        h = h.sort_values(["estate_idx", "ld", "dy", "fh"], kind="stable")
        n = len(h)
        ids = h["id_no"].to_numpy().copy()
        ids[rng.random(n) < 0.1] = None
        keys = np.array(
            [
                f"{x}|{a}|{b}|{r}"
                for x, a, b, r in zip(
                    est["property_name"].to_numpy()[h["estate_idx"].to_numpy()], h["ld"], h["dy"], h["fh"]
                )
            ],
            dtype=object,
        )
        xlsx = formats[c.company_idx].fmt == "xlsx"
        ids, _ = dirty_column(
            world,
            SYSTEM,
            "owners",
            "yzzjhm",
            "owner_id",
            ids,
            keys,
            lambda v, k, i, xlsx=xlsx: (
                (v[:6] + "********" + v[-4:])
                if k == "owners_masked_id"
                else (
                    float(v[:17] + ("0" if v[17] == "X" else v[17]))
                    if xlsx
                    else f"{float(v[:17] + ('0' if v[17] == 'X' else v[17])):.5E}"
                )
            ),
            eligible=pd.notna(ids),
        )
        rows = pd.DataFrame(
            {
                "xqmc": est["property_name"].to_numpy()[h["estate_idx"].to_numpy()],
                "ld": h["ld"].astype(str).to_numpy(),
                "dy": h["dy"].astype(str).to_numpy(),
                "fh": h["fh"].to_numpy(),
                "yzxm": h["name"].to_numpy(),
                "yzdh": h["phone"].to_numpy(),
                "yzzjhm": ids,
                "mj": np.round(rng.uniform(45, 180, size=n), 2),
                "rzrq": fmt_date(
                    np.datetime64("2000-01-01") + rng.integers(0, 8700, size=n).astype("timedelta64[D]")
                ),
                "_person_id": h["person_id"].to_numpy(),
                "_estate_id": h["estate_id"].to_numpy(),
                "_grid_code": h["grid_code"].to_numpy(),
            }
        )
        dup = rng.random(n) < world.dirt.kind_rate("owners_duplicate")
        if world.dirt.kind_rate("owners_duplicate") > 0 and n and not dup.any():
            dup[rng.integers(0, n)] = True
        world.log.add(SYSTEM, "owners", keys, "_row", np.where(dup, "owners_duplicate", None))
        if dup.any():
            order = np.concatenate([np.arange(n), np.flatnonzero(dup)])
            rows = rows.iloc[np.sort(order, kind="stable")].reset_index(drop=True)
        files.append(
            PropertyFile(
                f"{c.folder}/{FIRST_MONTH}/owners.{formats[c.company_idx].ext}", "owners", c.company_idx, rows
            )
        )
    return files


def _complaints(
    world: World, formats: list[CompanyFormat], estates: list[PropertyFile] | None = None
) -> list[PropertyFile]:
    rng = world.rng("property", "complaints")
    inc = world.incidents
    inc = inc[inc["channels"].str.contains("p")].reset_index(drop=True)
    persons = world.pop.persons
    est = world.geo.estates
    n = len(inc)
    who = np.where(inc["reporter"] >= 0, inc["reporter"], inc["person_idx"]).astype(np.int64)
    p = persons.iloc[who]
    t = add_seconds(inc["time"].to_numpy(), rng.integers(-43200, 86400, size=n))
    t = np.clip(t, np.datetime64(str(world.start) + "T00:00:00"), np.datetime64(str(world.end) + "T23:59:59"))
    share = world.effects.joint_mechanism_complaint_drop
    if share > 0:  # effect mode: a complaint stays in its incident's year (see simulator.effects)
        t = np.where(
            years_of(t) == years_of(inc["time"].to_numpy()), t, inc["time"].to_numpy().astype(t.dtype)
        )
    closed = rng.random(n) < 0.85
    bjsj = np.where(closed, add_seconds(t, rng.integers(3600, 10 * 86400, size=n)), np.datetime64("NaT"))
    # a complainant named by surname and title only (its own random stream; logged with the tsbh in _truth)
    tsr_clean = p["name"].to_numpy().astype(object)
    tsr_kind = assign(
        world.rng("dirt", SYSTEM, "complaints", "tsr"),
        world.dirt,
        "caller_name",
        n,
        title_only_applicability(tsr_clean),
    )
    surname, sex = p["surname"].to_numpy(), p["sex"].to_numpy()
    tsr = apply(tsr_clean, tsr_kind, lambda v, k, i: title_only_name(surname[i], sex[i], i))
    rows = pd.DataFrame(
        {
            "xqmc": est["property_name"].to_numpy()[inc["estate_idx"].to_numpy()],
            "fwdz": [f"{a}栋{b}单元{r}" for a, b, r in zip(p["ld"], p["dy"], p["fh"])],
            "tsr": tsr,
            "dh": p["phone"].to_numpy(),
            "lb": inc["property_lb"].to_numpy(),
            "qd": rng.choice(
                np.array(["信访", "12345", "物业热线", "业委会"], dtype=object),
                size=n,
                p=[0.05, 0.25, 0.6, 0.1],
            ),
            "slsj": fmt_local(t),
            "bjsj": fmt_local(bjsj.astype("datetime64[s]")),
            "jg": np.where(
                closed,
                rng.choice(np.array(["已处理", "已维修", "已协调", "已解释"], dtype=object), size=n),
                None,
            ),
            "myd": np.where(
                closed,
                rng.choice(np.array(["满意", "基本满意", "不满意"], dtype=object), size=n, p=[0.6, 0.3, 0.1]),
                None,
            ),
            "_person_id": p["person_id"].to_numpy(),
            "_estate_id": p["estate_id"].to_numpy(),
            "_grid_code": inc["grid_code"].to_numpy(),
            "_incident_id": inc["incident_id"].to_numpy(),
            "_tsr_kind": tsr_kind,
            "_company": inc["company_idx"].to_numpy(),
            "_month": np.datetime_as_string(t.astype("datetime64[M]"), unit="M"),
        }
    )
    if share > 0:
        rows = _joint_mechanism_effect(world, inc, rows, t, estates or [], share)
    rows = rows.sort_values("slsj", kind="stable")
    files = []
    months = pd.period_range(world.start, world.end, freq="M").strftime("%Y-%m").tolist()
    for c in world.geo.companies.itertuples():
        mine = rows[rows["_company"] == c.company_idx]
        groups = {m: g for m, g in mine.groupby("_month")}
        for m in months:
            g = groups.get(m, mine.iloc[:0]).copy()
            g.insert(
                0, "tsbh", [f"TS{c.company_idx + 1}{m.replace('-', '')}{i:05d}" for i in range(1, len(g) + 1)]
            )
            files.append(
                PropertyFile(
                    f"{c.folder}/{m}/complaints.{formats[c.company_idx].ext}", "complaints", c.company_idx, g
                )
            )
    return files


def _joint_mechanism_effect(
    world: World,
    inc: pd.DataFrame,
    rows: pd.DataFrame,
    t: np.ndarray,
    estates: list[PropertyFile],
    share: float,
) -> pd.DataFrame:
    """Drops year-2 complaints of joint-mechanism estates (simulator.effects) and records the truth."""
    est = world.geo.estates
    flags = pd.concat([f.rows[["_estate_id", "ywh", "dzz"]] for f in estates], ignore_index=True)
    mech_ids = set(flags.loc[(flags["ywh"] == "是") & (flags["dzz"] == "是"), "_estate_id"])
    estate_idx = inc["estate_idx"].to_numpy()
    mechanism = np.isin(est["estate_id"].to_numpy()[estate_idx], list(mech_ids))
    year = years_of(t)
    year1, year2 = year == world.start.year, year == world.start.year + 1
    drop = complaints_to_drop(
        world.rng("effects", "joint_mechanism"), estate_idx, year1, year2, mechanism, share
    )
    managed = est[est["company_idx"] >= 0]
    hs = world.pop.persons.drop_duplicates("household").groupby("estate_idx").size()
    hh = hs.reindex(managed.index).fillna(0).astype(int)
    is_mech = managed["estate_id"].isin(mech_ids).to_numpy()
    truth = {
        "definition": "complaints per 100 households, pooled over the estates of a group "
        "(sum of complaints / sum of households x 100); mechanism = estate file dzz=是 and ywh=是",
        "drop_share": share,
        "estates_with_mechanism": int(is_mech.sum()),
        "estates_without_mechanism": int((~is_mech).sum()),
        "households_with_mechanism": int(hh[is_mech].sum()),
        "households_without_mechanism": int(hh[~is_mech].sum()),
    }
    for label, m in (("with", mechanism), ("without", ~mechanism)):
        for y in (world.start.year, world.start.year + 1):
            truth[f"complaints_{label}_{y}"] = int(((year == y) & m & ~drop).sum())
    truth["complaints_dropped"] = int(drop.sum())
    world.effect_truth["joint_mechanism"] = truth
    # The dropped complaints were never filed: their incidents lose the property channel.
    gone = set(inc["incident_id"].to_numpy()[drop])
    chans = world.incidents["channels"].to_numpy().copy()
    hit = world.incidents["incident_id"].isin(gone).to_numpy()
    chans[hit] = [c.replace("p", "") for c in chans[hit]]
    world.incidents = world.incidents.assign(channels=chans)
    world.incidents = world.incidents[world.incidents["channels"] != ""].reset_index(drop=True)
    return rows[~drop]


def _file_faults(world: World, files: list[PropertyFile], formats: list[CompanyFormat]) -> None:
    rng = world.rng("property", "faults")
    cfg = world.dirt
    csv_complaints = [
        f for f in files if f.kind == "complaints" and f.rel.endswith(".csv") and len(f.rows) >= 2
    ]
    n_trunc = count_files(cfg, "property_truncated_file", len(csv_complaints))
    for i in rng.choice(len(csv_complaints), size=min(n_trunc, len(csv_complaints)), replace=False):
        csv_complaints[i].truncated = True
    others = [f for f in files if f.kind == "complaints" and not f.truncated and len(f.rows) >= 1]
    n_empty = count_files(cfg, "property_empty_file", len(others))
    for i in rng.choice(len(others), size=min(n_empty, len(others)), replace=False):
        others[i].empty = True
    owners = [
        f
        for f in files
        if f.kind in ("owners", "estates") and len(f.rows) >= 3 and not f.meta.get("redelivery")
    ]
    n_resend = count_files(cfg, "property_resend", len(owners))
    for i in rng.choice(len(owners), size=min(n_resend, len(owners)), replace=False):
        f = owners[i]
        earlier = f.rows.iloc[:-1].copy()  # the last row was missing
        changed = earlier.index[rng.choice(len(earlier), size=min(2, len(earlier)), replace=False)]
        col = "yzdh" if f.kind == "owners" else "hs"
        for j in changed:  # and two rows had values since corrected
            earlier.at[j, col] = "13900000000" if f.kind == "owners" else 0
        f.earlier = earlier


def _render(f: PropertyFile, fmt: CompanyFormat, rows: pd.DataFrame) -> bytes:
    if f.empty:
        return b""
    spec = table(SYSTEM, f.kind)
    fields = list(spec.headers)
    if f.kind == "owners" and fmt.merged_room:
        rows = rows.copy()
        rows["fh"] = rows["ld"] + "-" + rows["dy"] + "-" + rows["fh"]
        fields = [x for x in fields if x not in ("ld", "dy")]
    header = [fmt.headers[f.kind][x] for x in fields] + fmt.extra_columns
    body = rows[fields].astype(object).where(rows[fields].notna(), None).values.tolist()
    extra_values = {"备注": "", "物业费单价": "1.80", "录入人": "管理员"}
    body = [r + [extra_values[c] for c in fmt.extra_columns] for r in body]
    if fmt.fmt == "xlsx":
        extra = ("说明", [["本表由物业企业按月报送"], ["联系人", "管理员"]]) if fmt.extra_sheet else None
        return xlsx_bytes(header, body, sheet=f.kind, extra_sheet=extra)
    data = csv_bytes(header, body, ENCODINGS[fmt.fmt])
    if f.truncated:
        text_end = data.rstrip(b"\r\n")
        last_start = text_end.rfind(b"\n") + 1
        last = text_end[last_start:]
        cut = _nth(last, b",", 3)
        data = text_end[:last_start] + last[: cut + 3]
    return data


def _nth(data: bytes, sep: bytes, n: int) -> int:
    pos = -1
    for _ in range(n):
        pos = data.find(sep, pos + 1)
        if pos < 0:
            return max(1, len(data) // 2)
    return pos


def write_property(
    world: World, files: list[PropertyFile], formats: list[CompanyFormat], landing: Path, history: Path
) -> dict:
    root = landing / "property"
    for f in files:
        fmt = formats[f.company]
        write_bytes(root / f.rel, _render(f, fmt, f.rows))
        if f.earlier is not None:
            write_bytes(history / "earlier" / "property" / f.rel, _render(f, fmt, f.earlier))
            write_bytes(history / "final" / "property" / f.rel, _render(f, fmt, f.rows))
        _truth(world, f, fmt)
    return {
        "files": len(files),
        "by_kind": {k: sum(1 for f in files if f.kind == k) for k in ("estates", "owners", "complaints")},
        "truncated": [f.rel for f in files if f.truncated],
        "empty": [f.rel for f in files if f.empty],
        "resent": [f.rel for f in files if f.earlier is not None],
        "companies": [fmt.to_dict() for fmt in formats],
    }


def _truth(world: World, f: PropertyFile, fmt: CompanyFormat) -> None:
    rows = f.rows
    if f.empty or rows.empty:
        return
    if f.truncated:
        rows = rows.iloc[:-1]
    if f.kind == "estates":
        if f.meta.get("redelivery"):  # the same estates (keys) as the first delivery: one truth row each
            return
        keys = [f"{x.strip()}|{fmt.folder}" for x in rows["xqmc"]]
        world.add_truth(
            SYSTEM,
            "estates",
            keys,
            estate_id=rows["_estate_id"].to_numpy(),
            grid_code=rows["_grid_code"].to_numpy(),
            org_id=rows["_org_id"].to_numpy(),
        )
    elif f.kind == "owners":
        rows = rows.drop_duplicates(["xqmc", "ld", "dy", "fh"])
        keys = [f"{x}|{a}|{b}|{r}" for x, a, b, r in zip(rows["xqmc"], rows["ld"], rows["dy"], rows["fh"])]
        world.add_truth(
            SYSTEM,
            "owners",
            keys,
            person_id=rows["_person_id"].to_numpy(),
            estate_id=rows["_estate_id"].to_numpy(),
            grid_code=rows["_grid_code"].to_numpy(),
        )
    else:
        world.add_truth(
            SYSTEM,
            "complaints",
            rows["tsbh"].to_numpy(),
            person_id=rows["_person_id"].to_numpy(),
            estate_id=rows["_estate_id"].to_numpy(),
            grid_code=rows["_grid_code"].to_numpy(),
            incident_id=rows["_incident_id"].to_numpy(),
        )
        world.log.add(SYSTEM, "complaints", rows["tsbh"].to_numpy(), "tsr", rows["_tsr_kind"].to_numpy())
