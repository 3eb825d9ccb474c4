"""Department access on PostgreSQL (yiwang.access, `yiwang access sync`), on the real server.

The whole-build test builds a tiny city (a few marts and everything upstream), syncs access and then, as every
department, street office and community office role, reads every reader view: each role sees exactly the rows
it owns (the owner rule computed here from the reference data, run as the loader), no reader can read an ID
number or a mobile, read raw_* / ops / staging / identity_work / the marts themselves, create anything or
switch row security off; sensitive reads are audited; a second sync changes nothing; publishing (also with a
re-created table) keeps access.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from yiwang import privacy
from yiwang.access import FUNCTIONS, PREFIX_ENV, SERVICE_ENV, MartPlan, remove, scope_expression, sync
from yiwang.dbt_runner import run_dbt
from yiwang.publish import build_schemas, publish
from yiwang.warehouse import _pg_dsn

# the marts the test builds (plus everything upstream): department + grid scoped events, a department and a grid
# aggregate, the public catalog, and a mart that states party membership by row (points of party members)
MARTS = [
    "governance_events",
    "governance_by_department_month",
    "governance_by_grid_month",
    "service_catalog",
    "points_monthly",
]
DBT_ARGS = ["build", "--select", *(f"+{m}" for m in MARTS), "--exclude-resource-type", "unit_test"]
DBT_ARGS += ["--exclude-resource-type", "test"]

# 18-digit citizen ID with a valid GB 11643 check character, 11-digit mainland mobile
ID18 = re.compile(r"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")
MOBILE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def id_check_ok(s: str) -> bool:
    return "10X98765432"[sum(int(c) * w for c, w in zip(s[:17], WEIGHTS, strict=True)) % 11] == s[17].upper()


def leaks(text: str) -> list[str]:
    """Citizen IDs (valid check character, area and birth date: a digit-only USCC can have a valid check
    character too) and mobiles in ``text``."""
    return [m for m in ID18.findall(text) if id_check_ok(m) and privacy.is_id_number(m)] + MOBILE.findall(
        text
    )


# --- fast: the masks and the policy expression ------------------------------------------------------------


def test_check_character_helper() -> None:
    assert id_check_ok("11010519491231002X")  # the GB 11643 example
    assert not id_check_ok("110105194912310021")
    assert leaks("a 11010519491231002X b 13812345678") == ["11010519491231002X", "13812345678"]
    assert leaks("114201001318606418 420103006027004 138123456789") == []  # a USCC, a grid code, 12 digits


@pytest.mark.integration
def test_mask_functions(pg_url: str) -> None:
    """The view masks, on the server, against hand-written values and yiwang.privacy's Python masks."""
    with psycopg.connect(_pg_dsn(pg_url), autocommit=True) as con:
        con.execute("create schema access")
        for sql in FUNCTIONS.values():
            con.execute(sql)

        def one(sql: str, *args: Any) -> Any:
            return con.execute(sql, args).fetchone()[0]

        assert one("select access.mask_id(%s)", "11010519491231002X") == "110105********002X"
        assert one("select access.mask_phone(%s)", "13812345678") == "138****5678"
        assert one("select access.mask_phone(%s)", "138-1234-5678") == "138****5678"
        assert one("select access.mask_name(%s)", "张三") == "张*"
        for v in ("11010519491231002X", "13812345678", "+86 138 1234 5678", "张三", "欧阳修文", "李"):
            assert one("select access.mask_id(%s)", v) == privacy.mask_id(v)
            assert one("select access.mask_phone(%s)", v) == privacy.mask_phone(v)
            assert one("select access.mask_name(%s)", v) == privacy.mask_name(v)
        # masks are stable: a mart that already masks is masked again by the view to the same text
        for f, v in (("mask_id", "110105********002X"), ("mask_phone", "138****5678"), ("mask_name", "张*")):
            assert one(f"select access.{f}(%s)", v) == v
        text = "联系人电话13812345678，身份证11010519491231002X；网格420103006027004"
        assert one("select access.mask_text(%s)", text) == (
            "联系人电话138****5678，身份证110105********002X；网格420103006027004"
        )
        # codes the marts carry stay as they are: USCC, division, grid, event number, a run with no birth date
        for code in (
            "11420103123902688A",
            "114201031239026881",
            "420103006027",
            "420103006027004",
            "SJ202401070000094",
            "420100001311620345",
            "8613812345678901",
        ):
            assert one("select access.mask_text(%s)", code) == code
        assert one("select access.mask_text(%s)", None) is None


def test_scope_expression_uses_the_most_specific_code() -> None:
    plan = MartPlan(
        "mart_x",
        "events",
        [
            ("event_id", "text"),
            ("grid_code", "text"),
            ("community_code", "text"),
            ("department_uscc", "text"),
        ],
    )
    exprs = scope_expression(plan)
    assert exprs["department"] == (
        "\"department_uscc\" in (select s.value from access.role_scope s where s.kind = 'department')"
    )
    assert exprs["geography"] == (
        "(\"grid_code\" in (select s.value from access.role_scope s where s.kind = 'grid')) or "
        '("grid_code" is null and "community_code" in '
        "(select s.value from access.role_scope s where s.kind = 'community'))"
    )
    assert scope_expression(MartPlan("mart_catalog", "service_catalog", [("department_uscc", "text")])) == {}
    assert scope_expression(MartPlan("mart_x", "by_day", [("day", "date")])) == {}


# --- the whole build ----------------------------------------------------------------------------------------


@pytest.fixture
def city(hub: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The hub with its own role prefix (roles are cluster-wide); its roles are dropped afterwards."""
    prefix = f"yt{uuid.uuid4().hex[:6]}_"
    monkeypatch.setenv(PREFIX_ENV, prefix)
    hub.env[PREFIX_ENV] = prefix
    hub.prefix = prefix
    hub.logins = [f"{prefix}svc"]  # a service role (the serving API's), created by the test
    with psycopg.connect(_pg_dsn(hub.warehouse_url), autocommit=True) as con:
        con.execute(f'create role "{prefix}svc" nologin')
    monkeypatch.setenv(SERVICE_ENV, f"{prefix}svc")
    hub.env[SERVICE_ENV] = f"{prefix}svc"
    try:
        yield hub
    finally:
        with psycopg.connect(_pg_dsn(hub.warehouse_url), autocommit=True) as con:
            for login in hub.logins:
                con.execute(f'drop owned by "{login}"')
                con.execute(f'drop role if exists "{login}"')
        remove(hub.warehouse_url, prefix)


class Loader:
    """The loader's connection (the test's superuser) with helpers to act as a reader role."""

    def __init__(self, url: str) -> None:
        self.con = psycopg.connect(_pg_dsn(url), autocommit=True)

    def rows(self, sql: str, args: Any = None) -> list[tuple]:
        return self.con.execute(sql, args).fetchall()

    @contextmanager
    def as_role(self, role: str) -> Iterator[psycopg.Connection]:
        with self.con.transaction(force_rollback=True):
            self.con.execute(f'set local role "{role}"')
            yield self.con

    def denied(self, role: str, sql: str) -> bool:
        """Does ``sql`` as ``role`` fail for lack of privilege (42501)?"""
        try:
            with self.as_role(role) as c:
                c.execute(sql).fetchall()
        except psycopg.errors.InsufficientPrivilege:
            return True
        return False


def owners(db: Loader, prefix: str) -> dict[str, dict[str, set[str]]]:
    """role -> kind -> codes it owns, from the reference (departments, divisions) and the grid system, written
    out here independently of yiwang.access."""
    out: dict[str, dict[str, set[str]]] = {}
    for uscc, name in db.rows(
        "select department_uscc, department_name from staging.stg_reference__departments"
    ):
        out[f"{prefix}dept_{uscc.lower()}"] = {"department_uscc": {uscc}, "department_name": {name}}
    grids: dict[str, set[str]] = {}
    for g, c in db.rows("select grid_code, community_code from staging.stg_grid__grids"):
        grids.setdefault(c, set()).add(g)
    divisions = db.rows(
        "select division_code, division_level, parent_code from staging.stg_reference__divisions"
    )
    for code, level, _parent in divisions:
        if level == "社区":
            out[f"{prefix}community_{code}"] = {"community_code": {code}, "grid_code": grids.get(code, set())}
    for code, level, _ in divisions:
        if level == "街道":
            comms = {c for c, lv, p in divisions if lv == "社区" and p == code}
            out[f"{prefix}street_{code}"] = {
                "street_code": {code, code[:9]},
                "community_code": comms,
                "grid_code": set().union(*(grids.get(c, set()) for c in comms)),
            }
    return out


GEO = ("grid_code", "community_code", "street_code")


def owned(row: dict[str, Any], scope: dict[str, set[str]]) -> bool:
    """A row belongs to a role when its department is the role's, or its most specific place code is."""
    dept = "department_uscc" if "department_uscc" in row else "department_name"
    if dept in row and row[dept] in scope.get(dept, ()):
        return True
    for col in GEO:
        if col in row and row[col] is not None:
            return row[col] in scope.get(col, ())
    return False


SCOPE_COLUMNS = ("department_uscc", "department_name", *GEO, "subject_kind")


def reader_views(db: Loader, grantee: str) -> dict[str, list[str]]:
    """View name -> its columns, for the views granted to ``grantee``."""
    out: dict[str, list[str]] = {}
    for (v,) in db.rows(
        "select table_name from information_schema.role_table_grants where table_schema = 'reader' "
        "and grantee = %s and privilege_type = 'SELECT' order by 1",
        [grantee],
    ):
        out[v] = [
            r[0]
            for r in db.rows(
                "select column_name from information_schema.columns where table_schema = 'reader' "
                "and table_name = %s order by ordinal_position",
                [v],
            )
        ]
    return out


def check_scoping(db: Loader, prefix: str) -> dict[str, int]:
    """Every scoping role reads every reader view: exactly its own rows (none of another's), no ID or mobile.
    A public view shows every role the same rows: one role of each kind reads them all, the others count them.
    Returns rows read per view kind."""
    roles = owners(db, prefix)
    views = reader_views(db, f"{prefix}reader")
    assert views, "no reader view"
    mart_of = {
        t: s
        for s, t in db.rows(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema like 'mart\\_%%' and table_schema not like '%%\\_\\_build'"
        )
    }
    read = {"scoped": 0, "public": 0}
    for view, cols in views.items():
        scope_cols = [c for c in SCOPE_COLUMNS if c in cols]
        table = f'"{mart_of[view]}"."{view}"'
        # the owner query, as the loader: every row's scope columns, straight from the mart table
        all_rows = [
            dict(zip(scope_cols, r, strict=True))
            for r in db.rows(f"select {', '.join(scope_cols) or '1'} from {table}")
        ]
        if "subject_kind" in scope_cols:  # party members' rows are shown only to the party grant
            all_rows = [r for r in all_rows if r["subject_kind"] != "party_member"]
        scoped = any(c in scope_cols for c in ("department_uscc", "department_name", *GEO))
        public = view == "service_catalog" or not scoped
        scanned: set[str] = set()
        for role, scope in roles.items():
            kind = role.removeprefix(prefix).split("_")[0]
            if public and kind in scanned:  # the same rows as the first role of its kind read: count them
                with db.as_role(role) as c:
                    n = c.execute(f"select count(*) from reader.{view}").fetchone()[0]
                assert n == len(all_rows), f"{role}: public reader.{view}"
                continue
            with db.as_role(role) as c:
                cur = c.execute(f"select * from reader.{view}")
                names = [d.name for d in cur.description]
                seen = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
            text = "\n".join(str(v) for r in seen for v in r.values() if isinstance(v, str))
            assert not leaks(text), f"{role} reads an ID or mobile in reader.{view}: {leaks(text)[:3]}"
            if public:
                assert len(seen) == len(all_rows), f"{role}: public reader.{view}"
                read["public"] += len(seen)
                scanned.add(kind)
                continue
            foreign = [r for r in seen if not owned(r, scope)]
            assert not foreign, f"{role} sees {len(foreign)} rows of another in reader.{view}: {foreign[:2]}"
            expected = sum(owned(r, scope) for r in all_rows)
            assert len(seen) == expected, f"{role}: reader.{view} shows {len(seen)} rows, owns {expected}"
            read["scoped"] += len(seen)
    return read


def catalog_state(db: Loader, prefix: str) -> dict[str, Any]:
    """What the sync manages, as the catalog holds it (object ids included: nothing re-created)."""
    like = prefix.replace("_", "\\_") + "%"
    return {
        "roles": db.rows(
            "select rolname, rolcanlogin, rolsuper, rolbypassrls, rolinherit from pg_roles where rolname like %s "
            "order by 1",
            [like],
        ),
        "members": db.rows(
            "select m.rolname, g.rolname from pg_auth_members a join pg_roles m on m.oid = a.member "
            "join pg_roles g on g.oid = a.roleid where g.rolname like %s order by 1, 2",
            [like],
        ),
        "policies": db.rows(
            "select schemaname, tablename, policyname, roles::text, cmd, qual, with_check from pg_policies "
            "order by 1, 2, 3"
        ),
        "rls": db.rows(
            "select n.nspname, c.relname, c.oid::bigint, c.relrowsecurity, c.relforcerowsecurity, c.relacl::text "
            "from pg_class c join pg_namespace n on n.oid = c.relnamespace "
            "where (n.nspname like 'mart\\_%' and n.nspname not like '%\\_\\_build' or n.nspname in ('reader', 'access')) "
            "and c.relkind in ('r', 'v') "
            "order by 1, 2"
        ),
        "views": db.rows("select viewname, definition from pg_views where schemaname = 'reader' order by 1"),
        "scope": db.rows("select role_name, kind, value from access.role_scope order by 1, 2, 3"),
    }


@pytest.mark.slow
@pytest.mark.integration
def test_department_access_end_to_end(city: Any) -> None:
    t0 = time.monotonic()
    city.extract()
    t_extract = time.monotonic() - t0
    with build_schemas():  # dbt into the build schemas, then publish (the gates are other suites' business)
        run_dbt(DBT_ARGS)
    publish()
    t_build = time.monotonic() - t0 - t_extract
    p = city.prefix
    out = city.cli("access", "sync")
    assert "access in step" in out.stderr, out.stderr[-2000:]
    db = Loader(city.warehouse_url)
    try:
        _check_end_to_end(city, db, p)
    finally:
        db.con.close()
    print(f"extract {t_extract:.0f} s, build {t_build:.0f} s, whole test {time.monotonic() - t0:.0f} s")


def _check_end_to_end(city: Any, db: Loader, p: str) -> None:
    # roles: one per department, street and community office of the reference; none can log in, is superuser,
    # bypasses RLS or owns anything
    n_dept = db.rows("select count(*) from staging.stg_reference__departments")[0][0]
    n_div = dict(db.rows("select division_level, count(*) from staging.stg_reference__divisions group by 1"))
    roles = {r[0]: r[1:] for r in catalog_state(db, p)["roles"]}
    assert sum(r.startswith(f"{p}dept_") for r in roles) == n_dept
    assert sum(r.startswith(f"{p}street_") for r in roles) == n_div["街道"]
    assert sum(r.startswith(f"{p}community_") for r in roles) == n_div["社区"]
    assert all(attrs[:3] == (False, False, False) for attrs in roles.values()), roles
    owned_rel = db.rows(
        "select count(*) from pg_class c join pg_roles r on r.oid = c.relowner where r.rolname like %s",
        [p.replace("_", "\\_") + "%"],
    )
    assert owned_rel == [(0,)]
    # every mart table the views read is under forced row-level security
    marts = db.rows(
        "select c.relname, c.relrowsecurity, c.relforcerowsecurity from pg_class c "
        "join pg_namespace n on n.oid = c.relnamespace where n.nspname like 'mart\\_%%' "
        "and n.nspname not like '%%\\_\\_build' and c.relkind = 'r'"
    )
    assert {m[0] for m in marts} >= set(MARTS)
    assert all(m[1] and m[2] for m in marts), marts

    # masking is applied by the view: an ID and a mobile planted in a public mart's text never reach a reader
    planted = "投诉人 13812345678 身份证 11010519491231002X"
    db.con.execute(
        "update mart_catalog.service_catalog set provider_name = %s where item_code = "
        "(select min(item_code) from mart_catalog.service_catalog)",
        [planted],
    )
    t = time.monotonic()
    read = check_scoping(db, p)
    print(f"scoping checked in {time.monotonic() - t:.1f} s: {read}")
    assert read["scoped"] > 0 and read["public"] > 0, read
    street = next(r for r in owners(db, p) if r.startswith(f"{p}street_") and owners(db, p)[r]["grid_code"])
    with db.as_role(street) as c:
        masked = c.execute(
            "select provider_name from reader.service_catalog where provider_name like '投诉人%%'"
        ).fetchall()
    assert masked == [("投诉人 138****5678 身份证 110105********002X",)]

    # readers cannot read raw_*, ops, staging, identity_work, the marts themselves or the audit log
    dept = next(r for r in roles if r.startswith(f"{p}dept_"))
    forbidden = db.rows(
        "select table_schema, min(table_name) from information_schema.tables where table_schema like 'raw\\_%%' "
        "or table_schema in ('ops', 'staging', 'identity', 'identity_int', 'identity_work', 'mart_governance', 'access') "
        "group by 1"
    )
    assert {s for s, _ in forbidden} >= {"raw_grid", "ops", "staging", "mart_governance", "access"}
    for role in (dept, street, f"{p}party"):
        for schema, table in forbidden:
            assert db.denied(role, f'select * from "{schema}"."{table}" limit 1'), (
                f"{role} reads {schema}.{table}"
            )
        # nor create anything, nor switch row security off to escape the policies
        for ddl in (
            "create table public.x (a int)",
            "create schema x",
            "create temp table x (a int)",
            "create view reader.x as select 1 as a",
        ):
            assert db.denied(role, ddl), f"{role}: {ddl}"
        assert db.denied(role, "set local row_security = off; select count(*) from reader.governance_events")

    # party membership only through the party grant, and audited; a LOGIN user acts as a city's user would
    login = f"{p}login_test"
    city.logins.append(login)
    db.con.execute(f'create role "{login}" login')
    db.con.execute(f'grant "{street}", "{p}party" to "{login}"')
    url = psycopg.conninfo.make_conninfo(_pg_dsn(city.warehouse_url), user=login)
    with psycopg.connect(url, autocommit=True) as user:
        party_rows = user.execute("select count(*) from reader.points_monthly__party").fetchone()[0]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            user.execute("select * from access.audit_log")
    audit = db.rows("select session_user_name, role_name, view_name, query from access.audit_log")
    assert (login, login, "reader.points_monthly__party") in [a[:3] for a in audit], audit
    street_grids = sorted(owners(db, p)[street]["grid_code"])
    expected = db.rows(
        "select count(*) from mart_points.points_monthly where grid_code = any(%s)", [street_grids]
    )
    assert party_rows == expected[0][0]
    assert db.denied(street, "select count(*) from reader.points_monthly__party")
    assert "subject_kind" in reader_views(db, f"{p}party")["points_monthly__party"]

    # a service role the city granted the marts (the serving API's) reads every row: it scopes by API key itself
    db.con.execute(f'grant usage on schema mart_governance to "{p}svc"')
    db.con.execute(f'grant select on mart_governance.governance_events to "{p}svc"')
    with db.as_role(f"{p}svc") as c:
        n = c.execute("select count(*) from mart_governance.governance_events").fetchone()[0]
    assert n == db.rows("select count(*) from mart_governance.governance_events")[0][0] > 0

    # a second sync changes nothing
    before = catalog_state(db, p)
    assert sync(city.warehouse_url).changes == []
    assert catalog_state(db, p) == before

    # building again keeps access: a mart rebuilt by dbt and published (rows swapped in place: the same objects),
    # then a publish that has to re-create a table (its columns changed)
    with build_schemas():
        run_dbt(["run", "--select", "governance_by_grid_month"])
    publish()
    assert catalog_state(db, p) == before
    db.con.execute("alter table mart_governance.governance_events add column stray integer")
    publish()
    after = catalog_state(db, p)
    assert after["scope"] == before["scope"] and after["roles"] == before["roles"]
    assert [v for v, _ in after["views"]] == [v for v, _ in before["views"]]
    check_scoping(db, p)

    # a department gone from the reference loses its role and scope at the next sync after a build (the sync reads
    # the staging tables the build wrote)
    gone = dept.removeprefix(f"{p}dept_").upper()
    db.con.execute("delete from raw_reference.departments where upper(trim(uscc)) = %s", [gone])
    run_dbt(["run", "--select", "stg_reference__departments"])
    assert f"drop role {dept}" in "\n".join(sync(city.warehouse_url).changes)
    assert not db.rows("select 1 from pg_roles where rolname = %s", [dept])
    assert not db.rows("select 1 from access.role_scope where role_name = %s", [dept])
