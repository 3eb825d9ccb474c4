"""The output gate (expectations/output_checks.py): publish refuses broken marts and leaves the public ones as
the last good publish left them, on DuckDB and PostgreSQL.

One tiny simulated city per engine and module: extracted through the real connectors, the marts this file needs
built by the real dbt project into the build schemas and published once. Each test works on a copy (the DuckDB
file copied, a PostgreSQL database created from the built one as template), breaks the build-schema tables with
SQL and publishes again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from expectations.output_checks import REFERENCE_KEYS, OutputGateFailed, check_output, declared_dimensions
from yiwang.publish import build_tables, publish
from yiwang.settings import Settings, load_settings
from yiwang.warehouse import Tx, open_warehouse, qname

REPO = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = os.environ.get("YIWANG_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TOKEN, API_KEY = "outgate-approval-token", "outgate-services-key"
# the marts the breaks below use, and everything upstream (the whole project is slower than this file's budget)
# (a few staging models each: DuckDB takes seconds per deeply nested view, so not the governance marts)
MARTS = [
    "party_registrations_by_area",
    "party_grid_coverage",
    "party_meeting_compliance",
    "demands_grid_timeliness",
]
COMMUNITY_MART = "mart_party__build.party_registrations_by_area"  # dimensions community_code/_name, grid_code
COMMUNITY_PUBLIC = "mart_party.party_registrations_by_area"
COUNT_MART = ("mart_party__build", "party_meeting_compliance")  # no dimension
COUNT_PUBLIC = "mart_party.party_meeting_compliance"

SOURCES_YAML = """\
reference_dir: ${YIWANG_HOME}/sources/reference
systems:
  party: {kind: sql, url: "sqlite:///${YIWANG_HOME}/sources/party.sqlite"}
  grid: {kind: sql, url: "sqlite:///${YIWANG_HOME}/sources/grid.sqlite"}
  approval: {kind: http, base_url: "${YIWANG_APPROVAL_URL:-http://127.0.0.1:9/approval}", auth: bearer,
             credential_env: YIWANG_APPROVAL_TOKEN, page_size: 200}
  services: {kind: http, base_url: "${YIWANG_SERVICES_URL:-http://127.0.0.1:9/services}", auth: api_key,
             credential_env: YIWANG_SERVICES_API_KEY, page_size: 200}
  property: {kind: files, path: "${YIWANG_HOME}/sources/landing/property"}
  hotline: {kind: files, path: "${YIWANG_HOME}/sources/landing/hotline"}
"""


def _env(home: Path, url: str) -> dict[str, str]:
    return {
        "YIWANG_HOME": str(home),
        "YIWANG_SOURCES": str(home / "sources.yaml"),
        "YIWANG_WAREHOUSE_URL": url,
        "YIWANG_APPROVAL_TOKEN": TOKEN,
        "YIWANG_SERVICES_API_KEY": API_KEY,
        "YIWANG_HMAC_KEY": os.environ.get("YIWANG_HMAC_KEY") or "yiwang-test-key",
        "DBT_TARGET_PATH": str(home / "dbt_target"),
        "DBT_LOG_PATH": str(home / "dbt_logs"),
        "GX_ANALYTICS_ENABLED": "false",
    }


def _build_city(home: Path, url: str) -> None:
    """Simulate a tiny city, extract it, dbt-build MARTS into the build schemas and publish them once."""
    import simulator
    from connectors import run
    from simulator.http_api import serve_in_thread
    from yiwang.dbt_runner import run_dbt
    from yiwang.publish import build_schemas
    from yiwang.settings import SYSTEMS, get_settings

    simulator.generate(home / "sources", scale="tiny", seed=11)
    (home / "sources.yaml").write_text(SOURCES_YAML, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        for k, v in _env(home, url).items():
            mp.setenv(k, v)
        for k in (
            "YIWANG_BUILD_SCHEMA_SUFFIX",
            "YIWANG_DUCKDB_PATH",
            "YIWANG_ACCEPT_OUTPUT_CHANGE",
            "YIWANG_PUBLISH_MAX_ROW_CHANGE",
        ):
            mp.delenv(k, raising=False)
        server = serve_in_thread(home / "sources", approval_token=TOKEN, services_api_key=API_KEY)
        mp.setenv("YIWANG_APPROVAL_URL", f"{server.url}/approval")
        mp.setenv("YIWANG_SERVICES_URL", f"{server.url}/services")
        get_settings.cache_clear()
        try:
            run.extract_reference()
            for system in SYSTEMS:
                run.extract_system(system)
        finally:
            server.stop()
        try:
            with build_schemas():
                run_dbt(["seed"])
                run_dbt(["run", "--select", *(f"+{m}" for m in MARTS)])
            publish()
        finally:
            get_settings.cache_clear()


# -- PostgreSQL ----------------------------------------------------------------------------------------------
def _pg_admin() -> Any:
    import sqlalchemy as sa

    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as c:
            c.execute(sa.text("select 1"))
    except Exception as e:  # noqa: BLE001 - any failure to connect means "absent"
        engine.dispose()
        msg = f"PostgreSQL at {PG_ADMIN_URL.split('@')[-1]} is not reachable ({type(e).__name__}: {e})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{msg}; under CI=true every server must be up", pytrace=False)
        pytest.skip(msg)
    return engine


def _pg_url(name: str) -> str:
    import sqlalchemy as sa

    return sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _pg_copy(engine: Any, template: str) -> str:
    import sqlalchemy as sa

    name = f"yiwang_test_{uuid.uuid4().hex[:10]}"
    with engine.connect() as c:
        c.execute(
            sa.text(
                "select pg_terminate_backend(pid) from pg_stat_activity "
                "where datname = :d and pid <> pg_backend_pid()"
            ),
            {"d": template},
        )
        c.execute(sa.text(f'create database "{name}" template "{template}"'))
    return name


def _pg_drop(engine: Any, name: str) -> None:
    import sqlalchemy as sa

    with engine.connect() as c:
        c.execute(sa.text(f'drop database if exists "{name}" with (force)'))


# -- fixtures ----------------------------------------------------------------------------------------------
@dataclass
class City:
    engine: str
    home: Path
    url: str  # the built, published warehouse (never changed by a test)
    admin: Any = None  # PostgreSQL admin engine


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def city(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    home = tmp_path_factory.mktemp(f"outgate_{request.param}")
    if request.param == "duckdb":
        url = f"duckdb:///{home / 'warehouse.duckdb'}"
        _build_city(home, url)
        yield City("duckdb", home, url)
        return
    admin = _pg_admin()
    name = f"yiwang_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as c:
        import sqlalchemy as sa

        c.execute(sa.text(f'create database "{name}"'))
    try:
        _build_city(home, _pg_url(name))
        yield City("postgres", home, _pg_url(name), admin)
    finally:
        _pg_drop(admin, name)
        admin.dispose()


@dataclass
class Hub:
    settings: Settings

    def tx(self) -> Any:
        return _Tx(self.settings.warehouse_url)

    def publish(self, **kw: Any) -> Any:
        return publish(run_id="test", settings=self.settings, **kw)

    def checksum(self) -> dict[str, str]:
        """Order-independent checksum of every public mart table."""
        out = {}
        with self.tx() as tx:
            for s, t in build_tables(tx):
                public = s.removesuffix("__build")
                rows = tx.query(f"select * from {qname(public, t)}")
                digests = sorted(
                    hashlib.sha256(repr(tuple(_norm(v) for v in r)).encode()).hexdigest() for r in rows
                )
                out[f"{public}.{t}"] = (
                    f"{len(rows)}:" + hashlib.sha256("".join(digests).encode()).hexdigest()[:16]
                )
        return out

    def log(self, outcome: str | None = None) -> list[tuple]:
        sql = (
            "select outcome, rule, relation, column_name, previous_value, current_value from ops.output_gate_log "
            "where rule not in ('reference_keys', 'summary')"
        )
        with self.tx() as tx:
            rows = tx.query(sql + (" and outcome = ?" if outcome else ""), [outcome] if outcome else None)
        return sorted(rows, key=repr)

    def new_delivery(self) -> None:
        """A ledger batch with new rows, landed after the last publish."""
        with self.tx() as tx:
            tx.execute(
                "insert into ops.load_ledger (system, table_name, batch_id, started_at, finished_at, rows_read,"
                " rows_landed, rows_new, rows_quarantined, status) select 'grid', 'wg_sj', 'test-batch',"
                " max(published_at), max(published_at) + interval '1 minute', 1, 1, 1, 0, 'ok'"
                " from ops.build_log"
            )


class _Tx:
    def __init__(self, url: str) -> None:
        self.wh = open_warehouse(url)

    def __enter__(self) -> Tx:
        self._cm = self.wh.transaction()
        return self._cm.__enter__()

    def __exit__(self, *exc: Any) -> None:
        try:
            self._cm.__exit__(*exc)
        finally:
            self.wh.close()


def _norm(v: Any) -> Any:
    return round(v, 9) if isinstance(v, float) else v


@pytest.fixture
def hub(city: City, tmp_path: Path) -> Iterator[Hub]:
    if city.engine == "duckdb":
        copy = tmp_path / "warehouse.duckdb"
        shutil.copyfile(city.home / "warehouse.duckdb", copy)
        url = f"duckdb:///{copy}"
    else:
        name = _pg_copy(city.admin, city.url.rsplit("/", 1)[1].split("?")[0])
        url = _pg_url(name)
    env = {k: v for k, v in _env(city.home, url).items() if k.startswith("YIWANG_")}
    try:
        yield Hub(load_settings({**env, "YIWANG_HOME": str(tmp_path / "home")}))
    finally:
        if city.engine == "postgres":
            _pg_drop(city.admin, name)


def _refused(hub: Hub, *needles: str) -> OutputGateFailed:
    before = hub.checksum()
    with pytest.raises(OutputGateFailed) as exc:
        hub.publish()
    assert hub.checksum() == before, "a refused publish changed the public marts"
    msg = str(exc.value)
    for n in needles:
        assert n in msg, msg
    assert "--accept-output-change" in msg
    assert hub.log("failed"), "the refusal is not in ops.output_gate_log"
    return exc.value


# -- declarations --------------------------------------------------------------------------------------------
def test_every_public_mart_declares_its_dimensions(tmp_path: Path) -> None:
    """Every model dbt puts in a mart_* schema declares meta.dimensions ({} when none), with existing columns
    and known kinds; names that look like a dimension are declared."""
    import json

    from dbt.cli.main import dbtRunner

    target = tmp_path / "target"
    res = dbtRunner().invoke(
        [
            "parse",
            "--project-dir",
            str(REPO / "dbt_project"),
            "--profiles-dir",
            str(REPO / "dbt_project"),
            "--target-path",
            str(target),
            "--log-path",
            str(tmp_path / "logs"),
        ]
    )
    assert res.success, res.exception
    nodes = json.loads((target / "manifest.json").read_text(encoding="utf-8"))["nodes"]
    marts = {
        n["name"]: n
        for n in nodes.values()
        if n["resource_type"] == "model" and str(n["schema"]).removesuffix("__build").startswith("mart_")
    }
    assert len(marts) >= 20
    declared = declared_dimensions()
    problems = []
    for name, node in sorted(marts.items()):
        if name not in declared:
            problems.append(f"{name}: no meta.dimensions")
            continue
        meta = node["config"]["meta"]
        assert {**meta["dimensions"], **meta.get("picked_dimensions", {})} == declared[name]
        for col, kind in declared[name].items():
            if col not in node["columns"]:
                problems.append(f"{name}.{col}: not a documented column")
            if kind not in REFERENCE_KEYS:
                problems.append(f"{name}.{col}: unknown kind {kind}")
        for col in node["columns"]:
            looks = any(
                w in col for w in ("community_code", "grid_code", "street_code", "department_", "item_code")
            )
            # stated_*: the code as the source stated it, kept for audit (may name no known grid); the placed
            # dimension beside it is the declared one
            if looks and col not in declared[name] and not col.startswith("stated_"):
                problems.append(f"{name}.{col}: looks like a dimension but is not declared")
    assert not problems, "\n".join(problems)


def test_output_gate_settings(tmp_path: Path) -> None:
    from yiwang.settings import ConfigError

    home = {"YIWANG_HOME": str(tmp_path)}
    default = load_settings(dict(home))
    assert (default.publish_max_row_change, default.accept_output_change) == (0.2, False)
    s = load_settings({**home, "YIWANG_PUBLISH_MAX_ROW_CHANGE": "0.5", "YIWANG_ACCEPT_OUTPUT_CHANGE": "true"})
    assert (s.publish_max_row_change, s.accept_output_change) == (0.5, True)
    for bad in (
        {"YIWANG_PUBLISH_MAX_ROW_CHANGE": "-1"},
        {"YIWANG_PUBLISH_MAX_ROW_CHANGE": "lots"},
        {"YIWANG_ACCEPT_OUTPUT_CHANGE": "maybe"},
    ):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            load_settings({**home, **bad})


# -- the gate ------------------------------------------------------------------------------------------------
ONE_COMMUNITY = f"(select min(community_code) from {COMMUNITY_MART})"


def _halve(hub: Hub) -> int:
    """Delete half the rows of the count mart; returns its row count before."""
    rel = qname(*COUNT_MART)
    with hub.tx() as tx:
        rows = int(tx.scalar(f"select count(*) from {rel}"))
        tx.execute(
            f"delete from {rel} where org_id in (select org_id from (select distinct org_id from {rel}) o "
            f"order by org_id limit (select count(distinct org_id) / 2 from {rel}))"
        )
        left = int(tx.scalar(f"select count(*) from {rel}"))
    assert abs(rows - left) / rows > 0.3, (rows, left)
    return rows


def test_republish_with_nothing_changed_passes(hub: Hub) -> None:
    before = hub.checksum()
    published = hub.publish()
    assert set(published.mart_row_counts) == set(before)
    assert hub.checksum() == before
    assert hub.log() == []
    with hub.tx() as tx:
        outcomes = tx.query(
            "select outcome, current_value from ops.output_gate_log where rule = 'summary' "
            "order by checked_at"
        )
        refs = dict(
            tx.query(
                "select column_name, current_value from ops.output_gate_log "
                "where rule = 'reference_keys' and build_id = ?",
                [published.build_id],
            )
        )
    assert [o for o, _ in outcomes] == ["passed", "passed"]  # the fixture's first publish, this one
    assert refs["community"] > 0 and refs["grid"] > 0


def test_nulled_community_is_refused(hub: Hub) -> None:
    with hub.tx() as tx:
        rows = tx.scalar(f"select count(*) from {COMMUNITY_MART}")
        assert tx.scalar(f"select count(*) from {COMMUNITY_MART} where community_code is null") == 0
        tx.execute(
            f"update {COMMUNITY_MART} set community_code = null where community_code = {ONE_COMMUNITY}"
        )
        nulled = tx.scalar(f"select count(*) from {COMMUNITY_MART} where community_code is null")
    assert 0 < nulled < rows
    err = _refused(hub, f"{COMMUNITY_PUBLIC}.community_code: {nulled} of {rows} rows NULL/blank")
    assert any(
        f.rule == "null_appeared" and f.column == "community_code" and f.current == nulled
        for f in err.report.findings
    )
    assert ("failed", "null_appeared", COMMUNITY_PUBLIC, "community_code", 0.0, float(nulled)) in hub.log(
        "failed"
    )


def test_blank_dimension_has_no_value_and_is_refused(hub: Hub) -> None:
    with hub.tx() as tx:
        rows = tx.scalar("select count(*) from mart_party__build.party_grid_coverage")
        tx.execute("update mart_party__build.party_grid_coverage set grid_name = ' '")
    _refused(hub, f"mart_party.party_grid_coverage.grid_name: no value in any of {rows} rows")


def test_shrunk_reference_dimension_is_refused_unless_the_reference_shrank(hub: Hub) -> None:
    hub.new_delivery()  # so the row-count rule stays out of it
    with hub.tx() as tx:
        codes = [r[0] for r in tx.query(f"select distinct community_code from {COMMUNITY_MART} order by 1")]
        gone = codes[: len(codes) // 2]
        marks = ", ".join("?" * len(gone))
        grids = [
            r[0]
            for r in tx.query(
                f"select distinct grid_code from {COMMUNITY_MART} where grid_code is not null"
                f" and community_code in ({marks})",
                gone,
            )
        ]
        tx.execute(f"delete from {COMMUNITY_MART} where community_code in ({marks})", gone)
    assert gone
    err = _refused(
        hub,
        f"{COMMUNITY_PUBLIC}.community_code: {len(codes)} -> {len(codes) - len(gone)} distinct "
        "community values",
        "raw_reference.divisions",
    )
    assert {f.rule for f in err.report.findings} == {"dimension_shrank"}
    assert {f.column for f in err.report.findings} == {"community_code", "community_name"} | (
        {"grid_code"} if grids else set()
    )

    with (
        hub.tx() as tx
    ):  # the deliveries themselves lost those communities and grids: the shrink is explained
        tx.execute(f"delete from raw_reference.divisions where trim(division_code) in ({marks})", gone)
        if grids:
            tx.execute(
                f"delete from raw_grid.wg_grid where trim(wgbm) in ({', '.join('?' * len(grids))})", grids
            )
    before = hub.checksum()
    hub.publish()
    assert hub.checksum()[COMMUNITY_PUBLIC] != before[COMMUNITY_PUBLIC]


def test_picked_dimension_may_lose_a_value_on_a_delivery(hub: Hub) -> None:
    """A picked dimension (meta.picked_dimensions: each row's value picked from the data, like the department
    that handled most of a community's events) can lose a value on an ordinary day's delivery with the
    reference unchanged: rule b) leaves it out, rule a) still applies. The same shrink of the same columns
    declared as plain dimensions is a finding (the test above)."""
    hub.new_delivery()
    with hub.tx() as tx:
        codes = [r[0] for r in tx.query(f"select distinct community_code from {COMMUNITY_MART} order by 1")]
        gone = codes[: len(codes) // 2]
        tx.execute(
            f"delete from {COMMUNITY_MART} where community_code in ({', '.join('?' * len(gone))})", gone
        )
        table = COMMUNITY_MART.split(".")[1]
        tables = [tuple(COMMUNITY_MART.split("."))]
        declared = {table: declared_dimensions()[table]}
        cols = set(declared[table])

        def findings(picks: set[str]) -> set[tuple[str, str | None]]:
            report = check_output(tx, tables, max_row_change=1.0, dimensions=declared, picks={table: picks})
            return {(f.rule, f.column) for f in report.findings}

        assert ("dimension_shrank", "community_code") in findings(set())
        assert findings(cols) == set()
        tx.execute(f"update {COMMUNITY_MART} set community_name = null")
        assert ("never_empty", "community_name") in findings(cols)  # rule a) holds for a picked dimension


def test_row_count_move_without_new_delivery_is_refused(hub: Hub) -> None:
    rows = _halve(hub)
    with hub.tx() as tx:
        left = tx.scalar(f"select count(*) from {qname(*COUNT_MART)}")
    _refused(
        hub,
        f"{COUNT_PUBLIC}: {rows} -> {left} rows",
        "limit 20%",
        "no delivery landed since the last publish",
    )

    hub.new_delivery()  # a delivery landed since the last publish: the marts may move
    hub.publish()
    with hub.tx() as tx:
        assert tx.scalar(f"select count(*) from {COUNT_PUBLIC}") == left


def test_row_count_limit_is_a_setting(hub: Hub) -> None:
    _halve(hub)
    env = {
        "YIWANG_HOME": str(hub.settings.home),
        "YIWANG_WAREHOUSE_URL": hub.settings.warehouse_url,
        "YIWANG_PUBLISH_MAX_ROW_CHANGE": "0.9",
    }
    publish(settings=load_settings(env))


def test_accept_output_change_publishes_and_logs(hub: Hub) -> None:
    with hub.tx() as tx:
        tx.execute(
            f"update {COMMUNITY_MART} set community_name = null where community_code = {ONE_COMMUNITY}"
        )
    hub.publish(accept_output_change=True)
    assert {r[:4] for r in hub.log()} == {
        ("accepted", rule, COMMUNITY_PUBLIC, "community_name")
        for rule in ("null_appeared", "dimension_shrank")
    }
    with hub.tx() as tx:
        assert tx.scalar(f"select count(*) from {COMMUNITY_PUBLIC} where community_name is null") > 0
    hub.publish()  # the accepted state is the new baseline


def test_first_publish_applies_only_never_empty(hub: Hub) -> None:
    _halve(hub)
    with hub.tx() as tx:
        tx.execute("delete from ops.build_log")
        tx.execute(
            f"update {COMMUNITY_MART} set community_code = null where community_code = {ONE_COMMUNITY}"
        )
    hub.publish()  # partly NULL and fewer rows: nothing to compare with, so fine

    with hub.tx() as tx:
        tx.execute("delete from ops.build_log")
        tx.execute(f"update {COMMUNITY_MART} set community_code = null")
    _refused(hub, f"{COMMUNITY_PUBLIC}.community_code: no value in any of")
