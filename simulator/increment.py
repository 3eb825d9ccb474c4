"""Increments on top of a generated output: new and updated records with later cursors, new files.

`simulate_increment(out_dir, seed, fraction)` changes, in place:
- party.sqlite / grid.sqlite: updates `fraction` of dj_dy, wg_syrk, wg_sj rows (later cursor) and
  inserts new wg_syrk residents and new wg_sj events;
- api/approval/cases.jsonl, api/services/orders.jsonl: updates records (later updatedAt) and adds new ones;
- landing/hotline/: one new day after the last one; landing/property/: one owners file re-sent at the
  same path with corrections (two changed phones, one extra row);
- truth/records.parquet, truth/persons.parquet and manifest.json.
`restore_earlier_versions` / `restore_final_versions` swap re-sent files (property resends, re-exported
hotline days) between their earlier and final versions, kept under truth/resend/.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from openpyxl import load_workbook

from simulator.contract import tables
from simulator.http_api import parse_instant
from simulator.ids import id_check_char
from simulator.pipeline import TRUTH_COLUMNS, write_manifest, write_parquet
from simulator.rng import stream
from simulator.writers.tabular_files import csv_bytes, xlsx_bytes

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _restore(out_dir: Path, which: str) -> list[Path]:
    src_root = out_dir / "truth" / "resend" / which
    done = []
    for src in sorted(p for p in src_root.rglob("*") if p.is_file()):
        rel = src.relative_to(src_root)
        dest = out_dir / "landing" / rel
        final_copy = out_dir / "truth" / "resend" / "final" / rel
        if which == "earlier" and not final_copy.exists():  # keep the final version to restore later
            final_copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(dest, final_copy)
        shutil.copyfile(src, dest)
        done.append(dest)
    return done


def restore_earlier_versions(out_dir: Path) -> list[Path]:
    """Puts the earlier version of every re-sent file at its landing path (returns the paths)."""
    return _restore(Path(out_dir), "earlier")


def restore_final_versions(out_dir: Path) -> list[Path]:
    """Puts the final (corrected) version back at every re-sent file's landing path."""
    return _restore(Path(out_dir), "final")


def _fmt(dt: datetime, iso: bool = False) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S+08:00") if iso else dt.strftime("%Y-%m-%d %H:%M:%S")


def _latest_cursor(out_dir: Path) -> datetime:
    """The latest cursor value in the SQL databases and the API record files, as local time."""

    latest = 0.0
    for (system, name), spec in tables().items():
        if not spec.cursor:
            continue
        db = out_dir / f"{system}.sqlite"
        if db.exists():
            con = sqlite3.connect(db)
            try:
                value = con.execute(f'select max("{spec.cursor}") from "{name}"').fetchone()[0]
            finally:
                con.close()
            if value:
                latest = max(latest, parse_instant(str(value)))
        api = out_dir / "api" / system / f"{name}.jsonl"
        if api.exists():
            with api.open(encoding="utf-8") as fh:
                for line in fh:
                    value = json.loads(line).get(spec.cursor)
                    if value:
                        latest = max(latest, parse_instant(str(value)))
    return datetime.fromtimestamp(latest, tz=SHANGHAI).replace(tzinfo=None)


def simulate_increment(out_dir: Path, seed: int = 1, fraction: float = 0.01) -> dict:
    out_dir = Path(out_dir)
    manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    number = len(manifest.get("increments", [])) + 1
    rng = stream(seed, "increment", number, manifest["seed"])
    # the increment happens after everything already delivered: the day after the latest cursor value
    # anywhere in the sources (update times run past the span's end: records keep being updated)
    end = max(datetime.fromisoformat(manifest["span"]["end"]), _latest_cursor(out_dir)) + timedelta(days=1)
    base = end.replace(hour=9, minute=0, second=0, microsecond=0)
    truth = pd.read_parquet(out_dir / "truth" / "records.parquet")
    persons = pd.read_parquet(out_dir / "truth" / "persons.parquet")
    new_truth: list[dict] = []
    summary: dict[str, dict[str, int]] = {}

    def when() -> datetime:
        return base + timedelta(seconds=int(rng.integers(0, 10 * 3600)))

    def k(n: int) -> int:
        return max(1, int(round(n * fraction)))

    # --- SQL systems
    con = sqlite3.connect(out_dir / "grid.sqlite")
    rows = con.execute("SELECT rkid FROM wg_syrk WHERE sfsc = 0 ORDER BY rkid").fetchall()
    upd = [rows[i][0] for i in rng.choice(len(rows), size=k(len(rows)), replace=False)]
    con.executemany(
        "UPDATE wg_syrk SET sjhm = ?, update_time = ? WHERE rkid = ?",
        [(f"139{int(rng.integers(0, 10**8)):08d}", _fmt(when()), r) for r in upd],
    )
    cols = [c[1] for c in con.execute("PRAGMA table_info(wg_syrk)")]
    templates = con.execute(
        f"SELECT * FROM wg_syrk WHERE sfsc = 0 ORDER BY rkid LIMIT {k(len(rows))}"
    ).fetchall()
    tmap = truth[(truth.source_system == "grid") & (truth.source_table == "wg_syrk")].set_index("source_key")
    new_people = []
    for j, t in enumerate(templates):
        rec = dict(zip(cols, t))
        pid = f"PN{number:02d}{j + 1:06d}"
        birth = datetime(
            2000 + int(rng.integers(0, 6)), 1 + int(rng.integers(0, 12)), 1 + int(rng.integers(0, 28))
        )
        first17 = f"420106{birth:%Y%m%d}{int(rng.integers(0, 500)) * 2 + 1:03d}"
        id_no = first17 + id_check_char(first17)
        name = str(rec["xm"]).strip()[:1] + "新" + "明华伟芳"[j % 4]
        rec.update(
            rkid=f"RKN{number:02d}{j + 1:07d}",
            xm=name,
            sfzh=id_no,
            xb="男",
            csrq=f"{birth:%Y-%m-%d}",
            djsj=_fmt(when()),
            update_time=_fmt(when()),
            sfsc=0,
            tsbq=None,
        )
        con.execute(f"INSERT INTO wg_syrk VALUES ({','.join('?' * len(cols))})", [rec[c] for c in cols])
        src = tmap.loc[t[0]]
        new_truth.append(
            {
                "source_system": "grid",
                "source_table": "wg_syrk",
                "source_key": rec["rkid"],
                "person_id": pid,
                "grid_code": rec["wgbm"],
                "estate_id": src["estate_id"],
            }
        )
        new_people.append(
            {
                "person_id": pid,
                "name": name,
                "id_no": id_no,
                "birth_date": f"{birth:%Y-%m-%d}",
                "sex": "男",
                "phone": rec["sjhm"],
                "grid_code": rec["wgbm"],
                "estate_id": src["estate_id"],
                "household_id": None,
            }
        )
    ev = con.execute("SELECT sjbh FROM wg_sj WHERE zt NOT IN ('结案', '评价') ORDER BY sjbh").fetchall()
    closing = (
        [ev[i][0] for i in rng.choice(len(ev), size=min(len(ev), k(len(ev)) + 1), replace=False)]
        if ev
        else []
    )
    for sjbh in closing:
        t = when()
        con.execute(
            "UPDATE wg_sj SET zt = '结案', jasj = ?, update_time = ? WHERE sjbh = ?", (_fmt(t), _fmt(t), sjbh)
        )
        con.execute(
            "INSERT INTO wg_sjlz VALUES (?, ?, '结案', '网格', '系统', ?, NULL)", (f"{sjbh}99", sjbh, _fmt(t))
        )
    ecols = [c[1] for c in con.execute("PRAGMA table_info(wg_sj)")]
    etemps = con.execute(f"SELECT * FROM wg_sj ORDER BY sjbh LIMIT {k(len(ev) or 100)}").fetchall()
    emap = truth[(truth.source_system == "grid") & (truth.source_table == "wg_sj")].set_index("source_key")
    for j, t in enumerate(etemps):
        rec = dict(zip(ecols, t))
        tt = when()
        rec.update(
            sjbh=f"SJ{tt:%Y%m%d}N{number:02d}{j + 1:05d}",
            zt="上报",
            sbsj=_fmt(tt),
            clsx=_fmt(tt + timedelta(days=3)),
            jasj=None,
            myd=None,
            update_time=_fmt(tt),
        )
        con.execute(f"INSERT INTO wg_sj VALUES ({','.join('?' * len(ecols))})", [rec[c] for c in ecols])
        src = emap.loc[t[0]]
        new_truth.append(
            {
                "source_system": "grid",
                "source_table": "wg_sj",
                "source_key": rec["sjbh"],
                "grid_code": src["grid_code"],
                "incident_id": f"IN{number:02d}{j + 1:06d}",
                "estate_id": src["estate_id"],
                "org_id": src["org_id"],
            }
        )
    con.commit()
    summary["grid"] = {
        "wg_syrk_updated": len(upd),
        "wg_syrk_inserted": len(templates),
        "wg_sj_updated": len(closing),
        "wg_sj_inserted": len(etemps),
    }
    con.close()

    con = sqlite3.connect(out_dir / "party.sqlite")
    dys = con.execute("SELECT dy_id FROM dj_dy ORDER BY dy_id").fetchall()
    chosen = [dys[i][0] for i in rng.choice(len(dys), size=k(len(dys)), replace=False)]
    con.executemany(
        "UPDATE dj_dy SET djzt = '正常', gxsj = ? WHERE dy_id = ?", [(_fmt(when()), d) for d in chosen]
    )
    con.commit()
    con.close()
    summary["party"] = {"dj_dy_updated": len(chosen)}

    # --- API systems
    for system, resource, key, _cursor, _iso in (
        ("approval", "cases", "bjbh", "updatedAt", True),
        ("services", "orders", "ddbh", "updatedAt", False),
    ):
        path = out_dir / "api" / system / f"{resource}.jsonl"
        recs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        rmap = truth[(truth.source_system == system) & (truth.source_table == resource)].set_index(
            "source_key"
        )
        n_upd = k(len(recs))
        for i in rng.choice(len(recs), size=n_upd, replace=False):
            r = recs[i]
            t = when()
            if resource == "cases":
                r.update(bjjg="准予", bjsj=r["bjsj"] or _fmt(t, True), updatedAt=_fmt(t, True))
            else:
                r.update(zt="已完成", wcsj=r["wcsj"] or _fmt(t), updatedAt=_fmt(t))
        added = []
        for j, i in enumerate(rng.choice(len(recs), size=n_upd, replace=False)):
            r = dict(recs[i])
            t = when()
            new_key = (
                f"{t:%Y%m%d}9{number:02d}{j + 1:05d}"
                if resource == "cases"
                else f"DDN{number:02d}{j + 1:06d}"
            )
            src = rmap.loc[r[key]]
            r[key] = new_key
            if resource == "cases":
                r.update(
                    slsj=_fmt(t, True),
                    cnbjsj=_fmt(t + timedelta(days=5), True),
                    bjsj=None,
                    bjjg="办理中",
                    updatedAt=_fmt(t, True),
                )
            else:
                r.update(xdsj=_fmt(t), wcsj=None, zt="待服务", pf=None, updatedAt=_fmt(t))
            added.append(r)
            new_truth.append(
                {
                    "source_system": system,
                    "source_table": resource,
                    "source_key": new_key,
                    **{c: src[c] for c in ("person_id", "grid_code", "estate_id", "org_id")},
                }
            )
        recs.extend(added)
        path.write_text(
            "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in recs),
            encoding="utf-8",
        )
        summary[system] = {f"{resource}_updated": n_upd, f"{resource}_inserted": len(added)}

    # --- hotline: a new day
    hot = out_dir / "landing" / "hotline"
    last_day = sorted(hot.glob("*.jsonl"))[-1]
    day = datetime.fromisoformat(last_day.stem) + timedelta(days=1)
    src_lines = []
    for f in sorted(hot.glob("*.jsonl"), reverse=True):  # recent days first, as many as give 50 tickets
        if len(src_lines) >= 50:
            break
        for line in f.read_text(encoding="utf-8").splitlines():
            try:
                src_lines.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    hmap = truth[(truth.source_system == "hotline")].set_index("source_key")
    lines = []
    for j in range(max(3, k(len(src_lines)))):
        r = dict(src_lines[int(rng.integers(0, len(src_lines)))])
        t = day + timedelta(seconds=int(rng.integers(8 * 3600, 20 * 3600)))
        src = hmap.loc[r["gdbh"]]
        r.update(
            gdbh=f"GD{day:%Y%m%d}N{number:02d}{j + 1:04d}",
            ldsj=_fmt(t),
            pdsj=None,
            bjsj=None,
            hfjg=None,
            cfgd=r["gdbh"],
            gxsj=_fmt(t + timedelta(minutes=1)),
        )
        lines.append(json.dumps(r, ensure_ascii=False, separators=(",", ":")))
        new_truth.append(
            {
                "source_system": "hotline",
                "source_table": "tickets",
                "source_key": r["gdbh"],
                **{c: src[c] for c in ("person_id", "grid_code", "incident_id", "estate_id", "org_id")},
            }
        )
    (hot / f"{day:%Y-%m-%d}.jsonl").write_text("".join(x + "\n" for x in lines), encoding="utf-8")
    summary["hotline"] = {"new_day": f"{day:%Y-%m-%d}", "tickets": len(lines)}

    # --- property: one owners file re-sent with corrections
    companies = manifest["files"]["property"]["companies"]
    cidx = int(rng.integers(0, len(companies)))
    comp = companies[cidx]
    prop_root = out_dir / "landing" / "property"
    target = next(iter(sorted((prop_root / comp["folder"]).glob("*/owners.*"))))
    header, body = _read_table(target, comp)
    if body:
        phone_col = header.index(comp["headers"]["owners"]["yzdh"])
        for i in rng.choice(len(body), size=min(2, len(body)), replace=False):
            body[i][phone_col] = f"137{int(rng.integers(0, 10**8)):08d}"
        extra = list(body[0])
        room_col = header.index(comp["headers"]["owners"]["fh"])
        extra[room_col] = extra[room_col].rsplit("-", 1)[0] + "-9901" if comp["merged_room"] else "9901"
        body.append(extra)
        pre = out_dir / "truth" / "resend" / "earlier" / "property" / target.relative_to(prop_root)
        pre.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, pre)
        data = (
            xlsx_bytes(header, body, sheet="owners")
            if comp["format"] == "xlsx"
            else csv_bytes(header, body, comp["encoding"])
        )
        target.write_bytes(data)
        fin = out_dir / "truth" / "resend" / "final" / "property" / target.relative_to(prop_root)
        fin.parent.mkdir(parents=True, exist_ok=True)
        fin.write_bytes(data)
        h = comp["headers"]["owners"]
        get = dict(zip(header, extra))
        if comp["merged_room"]:
            ld, dy, fh = get[h["fh"]].split("-")
        else:
            ld, dy, fh = get[h["ld"]], get[h["dy"]], get[h["fh"]]
        first_key = _owner_key(dict(zip(header, body[0])), h, comp["merged_room"])
        src = truth[(truth.source_table == "owners") & (truth.source_key == first_key)]
        new_truth.append(
            {
                "source_system": "property",
                "source_table": "owners",
                "source_key": f"{get[h['xqmc']].strip()}|{ld}|{dy}|{fh}",
                **({c: src.iloc[0][c] for c in ("person_id", "grid_code", "estate_id")} if len(src) else {}),
            }
        )
        summary["property"] = {
            "resent": str(target.relative_to(prop_root)),
            "changed_rows": 2,
            "added_rows": 1,
        }

    # --- truth and manifest
    add = pd.DataFrame(new_truth).reindex(columns=TRUTH_COLUMNS)
    truth = pd.concat([truth, add], ignore_index=True).drop_duplicates(
        ["source_system", "source_table", "source_key"], keep="last"
    )
    truth = truth.sort_values(["source_system", "source_table", "source_key"], kind="stable").reset_index(
        drop=True
    )
    write_parquet(out_dir / "truth" / "records.parquet", truth[TRUTH_COLUMNS])
    if new_people:
        persons = pd.concat([persons, pd.DataFrame(new_people)], ignore_index=True)
        write_parquet(out_dir / "truth" / "persons.parquet", persons)
    manifest.setdefault("increments", []).append(
        {"number": number, "seed": seed, "fraction": fraction, **summary}
    )
    manifest["truth"]["records"] = len(truth)
    write_manifest(out_dir, manifest)
    return {"number": number, **summary}


def _owner_key(row: dict, h: dict, merged: bool) -> str:
    if merged:
        ld, dy, fh = str(row[h["fh"]]).split("-")
    else:
        ld, dy, fh = row[h["ld"]], row[h["dy"]], row[h["fh"]]
    return f"{str(row[h['xqmc']]).strip()}|{ld}|{dy}|{fh}"


def _read_table(path: Path, comp: dict) -> tuple[list[str], list[list]]:
    if path.stat().st_size == 0:
        return [], []
    if path.suffix == ".xlsx":
        wb = load_workbook(path, read_only=True)
        ws = wb.worksheets[0]
        rows = [["" if v is None else v for v in r] for r in ws.iter_rows(values_only=True)]
        wb.close()
        return [str(x) for x in rows[0]], [
            [str(v) if not isinstance(v, float) else v for v in r] for r in rows[1:]
        ]
    text = path.read_bytes().decode(comp["encoding"] or "utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]
