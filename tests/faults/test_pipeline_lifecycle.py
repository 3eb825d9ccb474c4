"""One tiny city per warehouse (DuckDB, PostgreSQL) through the life of a deployment: built, delivered again,
rebuilt, fully refreshed, and re-keyed. One pipeline carries the four checks (they used to build a city each).

1. **Build** (extract, raw gate, the whole dbt project, mart gate, publish, docs site) with a fresh random
   pseudonymisation key, on a divisions file of under 100 rows with several top-level rows (empty parent code),
   the shape that used to start a cascade of quarantines across rebuilds.
2. **Secrets and personal data** (``_scan``): the key (as text, hex, base64; and the two padded forms
   PostgreSQL sessions receive) is in no file under YIWANG_HOME (warehouse file, GX results, docs site), dbt's
   target and log paths, dbt_project/target|logs, the captured console output, and no text column or
   view/function definition of any non-raw relation; no 18-digit ID number with a valid GB 11643 check
   character and no mainland mobile is in those files (the department systems' own exports under sources/ and
   the warehouse file, which holds raw, excepted) or in any text column of a table outside raw_* and staging.
   Values written in the dbt project's own source text (unit-test fixtures, documented in manifest.json) are
   fixtures, not findings.
3. **Redelivery and rebuild**: every file batch delivered again (the landing forgets it saw them) and the SQL
   and HTTP systems re-read from their inclusive cursors: nothing new lands. The second build on the same
   deliveries must give byte-identical public marts (exact checksums: every value as stored, floats
   unrounded), the same resident keys, no key-history events after the first, and the same raw rejects and
   quarantine (what a gate quarantined never becomes the yardstick of the next run). Meanwhile, from the first
   publish on, the serving API reads the published snapshot in a loop: readers and the pipeline never block
   each other (0 failed reads; on DuckDB one writing process locks the file, which is what readers used to
   collide with; on PostgreSQL readers read the public schemas under MVCC).
4. **Full refresh**: ``--full-refresh`` of the catalog and everything upstream gives the same marts.
5. **Key rotation**: a rebuild of the models that pseudonymise with another YIWANG_HMAC_KEY, nothing
   re-landed, re-tokenises every pseudonym while every record keeps its resident_key, with no merge/split
   events.
"""

from __future__ import annotations

import base64
import csv
import io
import re
import secrets
import time
from pathlib import Path

import pytest
from faultkit import DBT_BUILD, Hub, api_reader

from yiwang.dbt_runner import DBT_PROJECT_DIR, pg_hmac_options
from yiwang.privacy import is_id_number, pseudonym
from yiwang.warehouse import qident, qname

# every model, seed and snapshot of the project; data tests judge the output but make none of it and none of
# them pseudonymises (they run in the shared demo and PostgreSQL builds), so they are left out of the builds
FULL_BUILD = ["build", "--exclude-resource-type", "unit_test", "--exclude-resource-type", "test"]
_TEXT_TYPES = ("varchar", "text", "character varying", "json", "jsonb", "character", "bpchar")
_SYSTEM_SCHEMAS = ("information_schema", "pg_catalog", "pg_toast")

# not inside a longer run of letters/digits nor a decimal (run_results.json timings: 0.005128145217895508)
_ID18 = re.compile(r"(?<![0-9A-Za-z.])[0-9]{17}[0-9Xx](?![0-9A-Za-z]|\.[0-9])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z.])(?:\+?86)?1[3-9][0-9]{9}(?![0-9A-Za-z]|\.[0-9])")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def gb11643_valid(s: str) -> bool:
    """A citizen ID number: area 11-82, a real birth date (1900-2099) and the GB 11643 MOD 11-2 check char. The
    shape rules out credit codes (USCC, also 18 chars, often all digits: 114201001264136368) whose check char
    happens to fit."""
    if not is_id_number(s):
        return False
    total = sum(int(c) * w for c, w in zip(s[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == s[17].upper()


def personal_data(text: str) -> set[str]:
    ids = {m for m in _ID18.findall(text) if gb11643_valid(m)}
    return ids | {m[-11:] for m in _MOBILE.findall(text)}


def key_forms(key: str) -> dict[str, bytes]:
    raw = key.encode()
    b64 = base64.b64encode(raw)
    forms = {
        "key": raw,
        "hex": raw.hex().encode(),
        "HEX": raw.hex().upper().encode(),
        "base64": b64.rstrip(b"="),
        "base64url": base64.urlsafe_b64encode(raw).rstrip(b"="),
    }
    for part in pg_hmac_options("").split():  # what PostgreSQL sessions get: the padded keys, hex
        if "=" in part:
            name, value = part.split("=", 1)
            forms[name] = value.encode()
    return forms


def _files(*roots: Path) -> list[Path]:
    return [p for r in roots if r.exists() for p in ([r] if r.is_file() else r.rglob("*")) if p.is_file()]


def _relations(wh) -> list[tuple[str, str, str]]:  # noqa: ANN001
    return [
        (s, t, k)
        for s, t, k in wh.query(
            "select table_schema, table_name, table_type from information_schema.tables order by 1, 2"
        )
        if s not in _SYSTEM_SCHEMAS and not s.startswith("pg_")
    ]


def _text_values(wh, schema: str, table: str) -> list[str]:  # noqa: ANN001
    cols = [
        c
        for c, t in wh.query(
            "select column_name, data_type from information_schema.columns where table_schema = ? and table_name = ?",
            [schema, table],
        )
        if str(t).lower().split("(")[0] in _TEXT_TYPES
    ]
    if not cols:
        return []
    rows = wh.query(
        f"select {', '.join(f'cast({qident(c)} as varchar)' for c in cols)} from {qname(schema, table)}"
    )
    return [v for r in rows for v in r if v]


def _definitions(wh, is_duckdb: bool) -> list[str]:  # noqa: ANN001
    """View and function/macro definitions, settings stored with the database or role."""
    if is_duckdb:
        return [r[0] or "" for r in wh.query("select sql from duckdb_views() where not internal")] + [
            str(r[0] or "")
            for r in wh.query(
                "select macro_definition from duckdb_functions() "
                "where not internal and macro_definition is not null"
            )
        ]
    return (
        [
            r[0] or ""
            for r in wh.query(
                "select definition from pg_views where schemaname not in ('pg_catalog', 'information_schema')"
            )
        ]
        + [
            r[0] or ""
            for r in wh.query(
                "select p.prosrc from pg_proc p join pg_namespace n on n.oid = p.pronamespace "
                "where n.nspname not in ('pg_catalog', 'information_schema')"
            )
        ]
        + [" ".join(r[0] or []) for r in wh.query("select setconfig from pg_db_role_setting")]
    )


def _project_fixture_values() -> set[str]:
    """ID numbers and mobiles written in the dbt project's own source (unit-test fixtures, examples)."""
    found: set[str] = set()
    for sub in ("models", "macros", "seeds", "tests", "analyses", "snapshots"):
        for p in _files(DBT_PROJECT_DIR / sub):
            found |= personal_data(p.read_text(encoding="utf-8", errors="replace"))
    return found


def _scan(hub: Hub, key: str, extra_text: str) -> tuple[list[str], list[str]]:
    """(key findings, personal-data findings) over files, console output and the warehouse."""
    forms = key_forms(key)
    tmp = hub.home.parent
    roots = [
        hub.home,
        tmp / "dbt_target",
        tmp / "dbt_logs",
        DBT_PROJECT_DIR / "target",
        DBT_PROJECT_DIR / "logs",
    ]
    fixtures = _project_fixture_values()
    key_hits: list[str] = []
    pii_hits: list[str] = []

    def check(where: str, data: bytes, pii: bool) -> None:
        key_hits.extend(f"{where}: {name}" for name, form in forms.items() if form in data)
        if pii:
            found = personal_data(data.decode("utf-8", errors="replace")) - fixtures
            if found:
                pii_hits.append(
                    f"{where}: {len(found)} values, e.g. {[v[:4] + '...' + v[-2:] for v in sorted(found)[:3]]}"
                )

    files = _files(*roots)
    assert any(p.name == "index.html" for p in files) and any(
        p.name == "partial_parse.msgpack" for p in files
    )
    for p in files:
        rel = p.relative_to(hub.home) if p.is_relative_to(hub.home) else p
        holds_source_data = p.is_relative_to(hub.sources) or ".duckdb" in p.name
        check(str(rel), p.read_bytes(), pii=not holds_source_data)
    check("console output", extra_text.encode(), pii=True)

    with hub.wh() as wh:
        is_duckdb = hub.warehouse_url.startswith("duckdb")
        for text in _definitions(wh, is_duckdb):
            check("definition", text.encode(), pii=False)
        for schema, table, _kind in _relations(wh):
            if schema.startswith("raw_"):
                continue
            values = "\n".join(_text_values(wh, schema, table)).encode()
            check(f"{schema}.{table}", values, pii=not schema.startswith("staging"))
    return key_hits, pii_hits


# Personal data found outside raw/staging that is not the key's doing, reported (issue 12) and left to its owners.
# Each entry must still hold personal data (the test fails when one is fixed, so the entry gets removed).
KNOWN_PERSONAL_DATA: dict[str, str] = {}  # relation -> why it may hold personal data (none today)
ROTATION_BUILD = [
    "build",
    "--select",
    "+resident_xref",
    "resident_key_history",
    "+party_service_monthly",
    "--exclude-resource-type",
    "unit_test",
    "--exclude-resource-type",
    "test",
]


def _several_top_level_divisions(reference: Path) -> int:
    """Drop the city row and make every district top-level (parent_code ''), then drop communities from the end
    until fewer than 100 rows are left (their grids then fail a reference check: rejected once, the same way on
    every build, and nothing downstream of them cascades). Returns the rows left."""
    path = reference / "divisions.csv"
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    city = [r for r in rows if not (r["parent_code"] or "").strip()]
    assert len(city) == 1, "the simulated city has one top-level division"
    kept = [r for r in rows if r is not city[0]]
    while len(kept) >= 100:
        last = max(i for i, r in enumerate(kept) if r["level"] == "社区")
        del kept[last]
    for r in kept:
        if r["parent_code"] == city[0]["division_code"]:
            r["parent_code"] = ""
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(kept)
    path.write_text(out.getvalue(), encoding="utf-8")
    assert sum(1 for r in kept if not r["parent_code"]) >= 2
    return len(kept)


def _state(hub: Hub) -> dict[str, object]:
    with hub.wh() as wh:
        return {
            "marts": hub.marts_checksum(exact=True),
            "keys": sorted(
                wh.query(
                    "select source_system, source_table, source_key, resident_key from identity.resident_xref"
                )
            ),
            "key_events": wh.scalar("select count(*) from identity.resident_key_history"),
            "divisions": wh.scalar("select count(*) from staging.stg_reference__divisions"),
            "rejects": sorted(wh.query("select system, table_name, _row_hash, rule from ops.raw_rejects")),
            "quarantine": sorted(
                wh.query("select quarantine_id, system, table_name, rule, status from ops.quarantine")
            ),
        }


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.timeout(2400)
def test_build_redeliver_rebuild_refresh_and_rotate(
    hub: Hub, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from yiwang.dbt_runner import run_dbt
    from yiwang.publish import build_docs_site, build_schemas

    # 1. build, with a fresh key, on a divisions file with several top-level rows
    n_divisions = _several_top_level_divisions(hub.sources / "reference")
    assert n_divisions < 100
    started = time.monotonic()
    key = "scan-" + secrets.token_urlsafe(24)
    monkeypatch.setenv("YIWANG_HMAC_KEY", key)
    hub.env["YIWANG_HMAC_KEY"] = key
    hub.extract()
    hub.build(dbt_args=FULL_BUILD)
    build_docs_site(hub.settings)
    first = _state(hub)
    rounded = hub.marts_checksum()
    built = time.monotonic()

    # 2. the key and personal data stay out of every artefact
    out = capfd.readouterr()
    key_hits, pii_hits = _scan(hub, key, out.out + out.err)
    scanned = time.monotonic()
    assert not key_hits, f"the HMAC key is readable in: {key_hits}"
    unexpected = [h for h in pii_hits if h.split(":")[0] not in KNOWN_PERSONAL_DATA]
    assert not unexpected, f"personal data outside raw/staging: {unexpected}"
    fixed = set(KNOWN_PERSONAL_DATA) - {h.split(":")[0] for h in pii_hits}
    assert not fixed, f"no personal data left in {fixed}: drop them from KNOWN_PERSONAL_DATA"
    # the pseudonyms are the key's: the same values Python computes
    with hub.wh() as wh:
        member_keys = {k for (k,) in wh.query("select member_key from mart_party.party_service_monthly")}
        member_ids = {m for (m,) in wh.query("select member_id from staging.stg_party__service_records")}
    assert member_keys and member_keys <= {pseudonym(m, key.encode()) for m in member_ids if m}

    assert first["divisions"] == n_divisions  # top-level rows are roots, not broken references
    assert not [r for r in first["rejects"] if r[1] == "divisions"]
    assert {r[1] for r in first["rejects"]} <= {"wg_grid", "dj_org"}, "only rows naming a dropped community"
    assert first["keys"], "the build keyed residents"

    # 3. every batch delivered again, then build 2, while the API reads the published snapshot; build 2 compares
    # with build 1 (a third build would repeat the comparison: the cascade this guards against showed from the
    # second build on, when what build 1 quarantined was build 2's yardstick)
    with hub.wh() as wh:
        raw_before = wh.scalar("select count(*) from raw_hotline.tickets")
        file_systems = [s for s, c in hub.settings.sources.items() if c.kind == "files"]
        with wh.transaction() as tx:  # the same file batches delivered again: forget that they were landed
            for system in file_systems:
                tx.execute("delete from ops.file_state where system = ?", [system])
    with api_reader() as reads:
        entries = hub.extract()  # SQL and HTTP re-read from their (inclusive) cursors, files land again
        assert sum(e.rows_new for e in entries) == 0, [e for e in entries if e.rows_new]
        assert any(e.table_name == "tickets" and e.rows_landed for e in entries)
        with hub.wh() as wh:
            assert wh.scalar("select count(*) from raw_hotline.tickets") == raw_before
        hub.build(dbt_args=FULL_BUILD)
        second = _state(hub)
    rebuilt = time.monotonic()
    failures = [o for o in reads if o != "ok"]
    assert len(reads) >= 20, f"only {len(reads)} API reads during an extract and a build"
    assert failures == [], f"{len(failures)} of {len(reads)} API reads failed: {failures[:5]}"
    assert second["marts"] == first["marts"]
    assert second["keys"] == first["keys"]
    assert second["key_events"] == first["key_events"]  # no merge/split events on a rebuild
    assert second["divisions"] == first["divisions"]
    assert second["rejects"] == first["rejects"]
    new_entries = sorted(set(second["quarantine"]) - set(first["quarantine"]))
    assert second["quarantine"] == first["quarantine"], f"new quarantine entries: {new_entries[:10]}"

    # 4. full refresh of the catalog and everything upstream: the same marts
    hub.build("--full-refresh", dbt_args=DBT_BUILD)
    assert hub.marts_checksum() == rounded
    refreshed = time.monotonic()

    # 5. key rotation: the models that pseudonymise, rebuilt with a new key; nothing re-landed
    before = _rotation_state(hub)
    assert before["tokens"], "records with an ID or phone pseudonym"
    new_key = "rotated-" + secrets.token_urlsafe(24)
    monkeypatch.setenv("YIWANG_HMAC_KEY", new_key)
    hub.env["YIWANG_HMAC_KEY"] = new_key
    with build_schemas():
        run_dbt(ROTATION_BUILD)
    after = _rotation_state(hub)
    assert after["keys"] == before["keys"], "every record keeps its resident_key across a key rotation"
    assert after["key_events"] == before["key_events"], "no merge/split events from a key rotation"
    assert after["clusters"] == before["clusters"]
    old_tokens, new_tokens = before["tokens"], after["tokens"]
    assert old_tokens.keys() == new_tokens.keys()
    assert all(
        o != n for r in old_tokens for o, n in zip(old_tokens[r], new_tokens[r], strict=True) if o or n
    ), "every pseudonym is re-tokenised"
    with hub.wh() as wh:
        member_keys = {
            k for (k,) in wh.query("select member_key from mart_party__build.party_service_monthly")
        }
    assert member_keys and member_keys <= {pseudonym(m, new_key.encode()) for m in member_ids if m}
    print(
        f"build + docs {built - started:.0f} s, scan {scanned - built:.0f} s, redeliver + build 2 "
        f"{rebuilt - scanned:.0f} s, full refresh {refreshed - rebuilt:.0f} s, "
        f"rotation {time.monotonic() - refreshed:.0f} s"
    )


def _rotation_state(hub: Hub) -> dict[str, object]:
    with hub.wh() as wh:
        return {
            "keys": sorted(
                wh.query(
                    "select source_system, source_table, source_key, resident_key from identity.resident_xref"
                )
            ),
            "key_events": wh.scalar("select count(*) from identity.resident_key_history"),
            "clusters": sorted(
                wh.query("select record_ref, cluster_ref from identity_work.int_residents_records_matched")
            ),
            "tokens": {
                r: (i, p)
                for r, i, p in wh.query(
                    "select record_ref, id_hmac, phone_hmac from identity_work.int_residents_records_prepared "
                    "where id_hmac is not null or phone_hmac is not null"
                )
            },
        }
