"""The pseudonymisation key never leaves the process environment, and personal data never leaves raw/staging.

One tiny city per warehouse (DuckDB, PostgreSQL), extracted and built with the whole dbt project (every model
that pseudonymises: int_residents_records_prepared, party_service_monthly), published, and documented
(``build_docs_site``). With a fresh random key, then:

* the key (as text, hex, base64; and the two padded forms PostgreSQL sessions receive) is in no file under
  YIWANG_HOME (warehouse file, GX results, docs site), dbt's target and log paths, dbt_project/target|logs,
  the captured console output, and no text column or view/function definition of any non-raw relation;
* no 18-digit ID number with a valid GB 11643 check character and no mainland mobile is in those files (the
  department systems' own exports under sources/ and the warehouse file, which holds raw, excepted) or in any
  text column of a table outside raw_* and staging. Values written in the dbt project's own source text
  (unit-test fixtures, documented in manifest.json) are fixtures, not findings;
* rotating the key (a rebuild with another YIWANG_HMAC_KEY, nothing re-landed) re-tokenises every pseudonym
  while every record keeps its resident_key, with no merge/split events.
"""

from __future__ import annotations

import base64
import re
import secrets
import time
from pathlib import Path

import pytest
from faultkit import Hub

from yiwang.dbt_runner import DBT_PROJECT_DIR, pg_hmac_options
from yiwang.privacy import is_id_number, pseudonym
from yiwang.warehouse import qident, qname

# every model and seed (the data tests would only add time: none of them pseudonymises)
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


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.timeout(600)
def test_key_and_personal_data_stay_out_of_every_artefact(
    hub: Hub, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from yiwang.dbt_runner import run_dbt
    from yiwang.publish import build_docs_site, build_schemas

    started = time.monotonic()
    key = "scan-" + secrets.token_urlsafe(24)
    monkeypatch.setenv("YIWANG_HMAC_KEY", key)
    hub.env["YIWANG_HMAC_KEY"] = key
    hub.extract()
    hub.build(dbt_args=FULL_BUILD)
    build_docs_site(hub.settings)
    built = time.monotonic()

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
    before = _rotation_state(hub)
    assert before["tokens"], "records with an ID or phone pseudonym"

    # key rotation: the models that pseudonymise, rebuilt with a new key; nothing re-landed
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
        f"build + docs {built - started:.0f} s, scan {scanned - built:.0f} s, "
        f"rotation {time.monotonic() - scanned:.0f} s"
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
