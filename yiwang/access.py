"""Department access on PostgreSQL (issue 15, item 1): roles, reader views, row-level security, audit.

``yiwang access sync`` (and :func:`yiwang.publish.publish`, once access is set up) makes the warehouse match the
city's own reference data — never by hand:

* **Roles** (NOLOGIN groups; a city grants them to its LOGIN users): ``<p>reader`` (base, every reader is a
  member), ``<p>dept_<uscc>`` per department (``staging.stg_reference__departments``),
  ``<p>street_<code>`` per street office and ``<p>community_<code>`` per community office
  (``staging.stg_reference__divisions``, levels 街道 / 社区), and the separate grants ``<p>party`` (party
  membership), ``<p>special`` (special-population tags) and ``<p>once_only`` (the restricted ``mart_residents``).
  ``<p>`` is ``yw_`` unless YIWANG_ACCESS_ROLE_PREFIX says otherwise. No reader role logs in, is superuser, has
  BYPASSRLS, CREATEDB or CREATEROLE, or owns anything. Roles no longer in the reference are dropped.
* **Scope**: ``access.role_scope (role_name, kind, value)`` maps each role to the codes it may see: a department
  its USCC and name; a street office its street code (12-digit statistical code and the 9-digit township code
  the marts carry), its communities and their grids (``staging.stg_grid__grids``); a community office its code
  and its grids. ``role_scope`` has row-level security itself: a reader sees only the rows of roles it is a
  member of (``pg_has_role(current_user, role_name, 'MEMBER')``).
* **Row-level security** on every public mart table (``mart_*``): ENABLE + FORCE, one policy per scope column
  kind, e.g. ``department_uscc in (select value from access.role_scope where kind = 'department')``; the
  geography policy uses the most specific code the row has (grid, else community, else street). Marts with no
  scope column, and the public catalog (:data:`PUBLIC_MARTS`), get ``using (true)`` for readers. The table owner
  (the loader) keeps a ``for all`` policy so publishing still works when the loader is not a superuser.
* **Reader views** ``reader.<mart>`` ``with (security_invoker = true)``: ID numbers, phones and person names are
  masked by the view (110105********1234, 138****5678, 张*) wherever a column of that kind exists, and every
  other text column passes a net that masks 18-digit IDs (area code + birth date valid) and 11-digit mobiles
  found anywhere in it. Party-membership and special-population content (columns :data:`PARTY_COLUMNS`,
  :data:`SPECIAL_COLUMNS`, rows :data:`PARTY_ROWS`) is left out of ``reader.<mart>`` and shown only in
  ``reader.<mart>__party`` / ``__special``, granted to ``<p>party`` / ``<p>special``.
  Readers get SELECT on the mart tables (a security_invoker view needs it) but no USAGE on the ``mart_*``
  schemas, so they cannot name a table and must go through the views; they have nothing at all on ``raw_*``,
  ``ops``, ``staging``, ``identity*`` or ``access``.
* **Services**: roles named in YIWANG_ACCESS_SERVICE_ROLES (remembered in ``access.config``), e.g. the serving
  API's reader role, which scopes by API key itself, get a ``using (true)`` policy on every mart: FORCE ROW LEVEL
  SECURITY would otherwise leave them no rows. Their grants stay the city's to give.
* **Audit**: pgaudit needs ``shared_preload_libraries`` and a server restart. When it is not loaded (this
  project's CI server), every sensitive view (party / special / restricted / any masked personal column) calls
  :func:`access.audit_read` — SECURITY DEFINER, once per query (an InitPlan) — which writes who (session user
  and role), when, which view and the query text (its filter) into ``access.audit_log``; readers cannot read or
  write that table. :func:`audit_mode` reports which one is in force.

Idempotent: every object carries a fingerprint of its definition (a COMMENT); a second sync finds nothing to
change and returns no changes.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from yiwang.warehouse import Tx, open_warehouse, qident, qliteral, qname

PREFIX_ENV = "YIWANG_ACCESS_ROLE_PREFIX"
# Roles of trusted services that scope by themselves (the serving API's reader role): they read every mart row.
SERVICE_ENV = "YIWANG_ACCESS_SERVICE_ROLES"
ACCESS_SCHEMA = "access"
READER_SCHEMA = "reader"
_PREFIX_OK = re.compile(r"^[a-z][a-z0-9_]{0,19}$")
_CODE_OK = re.compile(r"^[0-9a-z]{1,40}$")
_PREFIX_NOTE = "yiwang access roles: "  # comment on schema access: the role prefix it was set up with
_MARK = "yiwang access "  # start of every managed object's comment, then the fingerprint

# Published for every reader whatever the columns say (the service catalog names each item's department, but the
# catalog is the city's public list of services).
PUBLIC_MARTS = frozenset({"service_catalog"})
# Schemas whose marts are restricted (personal once-only view): readable only through the restricted grant.
RESTRICTED_SCHEMAS = frozenset({"mart_residents"})

# Columns by name (lower case). Personal columns are masked by the view whatever the mart says it holds.
ID_COLUMNS = frozenset(
    {"id_number", "id_no", "id_card", "idcard", "id_masked", "sfzh", "zjhm", "sqrzjhm", "yzzjhm"}
)
PHONE_COLUMNS = frozenset(
    {"phone", "mobile", "telephone", "phone_masked", "sjhm", "lxdh", "sqrdh", "yzdh", "dh"}
)
NAME_COLUMNS = frozenset(
    {
        "name_masked",
        "masked_name",
        "person_name",
        "resident_name",
        "full_name",
        "member_name",
        "xm",
        "sqrmc",
        "yzxm",
    }
)
PARTY_COLUMNS = frozenset({"is_party_member", "member_key", "party_member"})
SPECIAL_COLUMNS = frozenset({"special_tags", "tsbq", "special_population"})
# Rows that state a person's party membership: (column, value)
PARTY_ROWS = (("subject_kind", "party_member"),)

# Scope columns: (column, role_scope kind). Departments by code first, by name when a mart carries only the name.
DEPARTMENT_COLUMNS = (("department_uscc", "department"), ("department_name", "department_name"))
GEO_COLUMNS = (("grid_code", "grid"), ("community_code", "community"), ("street_code", "street"))
# the policies the sync makes (name = prefix + one of these)
POLICIES = frozenset({"owner", "public", "department", "geography", "service", "own_scope"})
TEXT_TYPES = frozenset({"text", "character varying", "character"})


class AccessError(RuntimeError):
    """Access cannot be synced (not PostgreSQL, reference data not built yet, a bad role prefix)."""


@dataclass(frozen=True)
class Roles:
    prefix: str

    @property
    def reader(self) -> str:
        return f"{self.prefix}reader"

    @property
    def party(self) -> str:
        return f"{self.prefix}party"

    @property
    def special(self) -> str:
        return f"{self.prefix}special"

    @property
    def once_only(self) -> str:
        return f"{self.prefix}once_only"

    def dept(self, code: str) -> str:
        return f"{self.prefix}dept_{code.lower()}"

    def street(self, code: str) -> str:
        return f"{self.prefix}street_{code.lower()}"

    def community(self, code: str) -> str:
        return f"{self.prefix}community_{code.lower()}"

    @property
    def grants(self) -> tuple[str, ...]:
        return (self.party, self.special, self.once_only)

    def managed(self, name: str) -> bool:
        """A role this sync creates and may drop."""
        if name in (self.reader, *self.grants):
            return True
        return any(name.startswith(f"{self.prefix}{k}_") for k in ("dept", "street", "community"))


def role_prefix() -> str:
    p = os.environ.get(PREFIX_ENV, "yw_")
    if not _PREFIX_OK.match(p):
        raise AccessError(
            f"{PREFIX_ENV}={p!r}: lower-case letters, digits and _, at most 20, starting with a letter"
        )
    return p


@dataclass
class Result:
    changes: list[str] = field(default_factory=list)
    roles: int = 0
    scope_rows: int = 0
    tables: int = 0
    views: int = 0
    audit: str = ""
    skipped: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.roles} roles, {self.scope_rows} scope rows, {self.tables} mart tables under row-level "
            f"security, {self.views} reader views, audit by {self.audit}; {len(self.changes)} changes"
        )


# --- SQL helpers -------------------------------------------------------------------------------------------

FUNCTIONS = {
    "mask_id": """create or replace function access.mask_id(t text) returns text language sql immutable
    parallel safe as $f$
    select case when t is null or t = '' then t
                when length(btrim(t)) > 10
                then left(btrim(t), 6) || repeat('*', length(btrim(t)) - 10) || right(btrim(t), 4)
                else repeat('*', length(btrim(t))) end $f$""",
    "mask_phone": """create or replace function access.mask_phone(t text) returns text language sql immutable
    parallel safe as $f$
    select case when t is null or t = '' then t
                when length(regexp_replace(t, '[^0-9*]', '', 'g')) >= 11
                then left(regexp_replace(t, '[^0-9*]', '', 'g'), 3) || '****'
                     || right(regexp_replace(t, '[^0-9*]', '', 'g'), 4)
                else repeat('*', length(regexp_replace(t, '[^0-9*]', '', 'g'))) end $f$""",
    "mask_name": """create or replace function access.mask_name(t text) returns text language sql immutable
    parallel safe as $f$
    select case when t is null or btrim(t) = '' then t
                else left(btrim(t), 1) || repeat('*', greatest(length(btrim(t)) - 1, 1)) end $f$""",
    # An 18-digit run shaped like a citizen ID (area 11-82, a real birth date; yiwang.privacy.is_id_number):
    # masked. 11-digit mainland mobiles: masked. Other digits (grid, division, USCC codes, ticket numbers) kept.
    "mask_text": r"""create or replace function access.mask_text(t text) returns text language plpgsql
    immutable parallel safe as $f$
    declare
        m text[];
        d text;
        out text := t;
    begin
        if t is null or t !~ '[0-9]{11}' then
            return t;
        end if;
        for m in select regexp_matches(t, '(?<![0-9A-Za-z])([0-9]{17}[0-9Xx])(?![0-9A-Za-z])', 'g') loop
            d := m[1];
            if substr(d, 1, 2)::int between 11 and 82
               and substr(d, 7, 4)::int between 1900 and 2099
               and substr(d, 11, 2)::int between 1 and 12
               and substr(d, 13, 2)::int between 1 and 31
               and to_char(make_date(substr(d, 7, 4)::int, substr(d, 11, 2)::int, 1)
                           + interval '1 month' - interval '1 day', 'DD')::int >= substr(d, 13, 2)::int then
                out := replace(out, d, left(d, 6) || '********' || right(d, 4));  -- no schema lookup at run time
            end if;
        end loop;
        return regexp_replace(out, '(?<![0-9])(1[3-9][0-9])[0-9]{4}([0-9]{4})(?![0-9])', '\1****\2', 'g');
    end $f$""",
}

AUDIT_DDL = [
    """create table if not exists access.audit_log (
        audit_id bigint generated always as identity primary key,
        audited_at timestamptz not null default clock_timestamp(),
        session_user_name text not null, role_name text not null, view_name text not null, query text)""",
]
AUDIT_FUNCTION = """create or replace function access.audit_read(p_view text, p_role text) returns boolean
    language plpgsql volatile security definer set search_path = pg_catalog, pg_temp as $f$
    begin
        if not pg_has_role(session_user, p_role, 'MEMBER') then
            raise exception 'access.audit_read: % may not act as %', session_user, p_role;
        end if;
        insert into access.audit_log (session_user_name, role_name, view_name, query)
        values (session_user, p_role, p_view, left(current_query(), 4000));
        return true;
    end $f$"""


def _fp(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def _comment(tx: Tx, sql: str, params: list[str]) -> str | None:
    return tx.scalar(sql, params)


def _ensure(
    tx: Tx, res: Result, what: str, current: str | None, ddl: list[str], comment_on: str, fp: str
) -> None:
    """Run ``ddl`` and stamp ``comment_on`` with the fingerprint unless the object already carries it."""
    if current == _MARK + fp:
        return
    for stmt in ddl:
        tx.execute(stmt)
    tx.execute(f"comment on {comment_on} is {qliteral(_MARK + fp)}")
    res.changes.append(what)


# --- reference -> desired roles and scope ------------------------------------------------------------------


def _require(tx: Tx, schema: str, table: str) -> None:
    if not tx.table_exists(schema, table):
        raise AccessError(
            f"{schema}.{table} is missing: build the warehouse (yiwang build) before access sync"
        )


def desired_scope(tx: Tx, roles: Roles, res: Result) -> dict[str, set[tuple[str, str]]]:
    """Role name -> {(kind, value)} from the departments and divisions reference and the grid system."""
    for t in ("stg_reference__departments", "stg_reference__divisions", "stg_grid__grids"):
        _require(tx, "staging", t)
    scope: dict[str, set[tuple[str, str]]] = {}
    for uscc, name in tx.query(
        "select department_uscc, department_name from staging.stg_reference__departments "
        "where department_uscc is not null order by 1"
    ):
        if not _CODE_OK.match(uscc.lower()):
            res.skipped.append(f"department {uscc!r}: not a code a role name can carry")
            continue
        s = scope.setdefault(roles.dept(uscc), set())
        s.add(("department", uscc))
        if name:
            s.add(("department_name", name))
    divisions = tx.query(
        "select division_code, division_level, parent_code from staging.stg_reference__divisions "
        "where division_level in ('街道', '社区') and division_code is not null order by 1"
    )
    grids: dict[str, set[str]] = {}
    for grid, community in tx.query(
        "select grid_code, community_code from staging.stg_grid__grids "
        "where grid_code is not null and community_code is not null order by 1"
    ):
        grids.setdefault(community, set()).add(grid)
    communities: dict[str, set[str]] = {}
    for code, level, parent in divisions:
        if level == "社区" and parent:
            communities.setdefault(parent, set()).add(code)
    for code, level, _parent in divisions:
        if not _CODE_OK.match(code.lower()):
            res.skipped.append(f"division {code!r}: not a code a role name can carry")
            continue
        if level == "街道":
            s = scope.setdefault(roles.street(code), {("street", code)})
            if len(code) == 12 and code.endswith("000"):  # the 9-digit township code the marts carry
                s.add(("street", code[:9]))
            for c in communities.get(code, ()):
                s.add(("community", c))
                s |= {("grid", g) for g in grids.get(c, ())}
        else:
            s = scope.setdefault(roles.community(code), {("community", code)})
            s |= {("grid", g) for g in grids.get(code, ())}
    return scope


def _sync_roles(tx: Tx, roles: Roles, wanted: Iterable[str], res: Result) -> None:
    wanted = sorted(set(wanted))
    existing = {
        r[0]: r[1:]
        for r in tx.query(
            "select rolname, rolcanlogin, rolsuper, rolbypassrls, rolcreatedb, rolcreaterole, rolinherit "
            "from pg_roles where starts_with(rolname, ?)",
            [roles.prefix],
        )
        if roles.managed(r[0])
    }
    safe = (False, False, False, False, False, True)
    for name in [roles.reader, *roles.grants, *wanted]:
        if name not in existing:
            tx.execute(
                f"create role {qident(name)} nologin nosuperuser nobypassrls nocreatedb nocreaterole inherit"
            )
            res.changes.append(f"create role {name}")
        elif tuple(existing[name]) != safe:
            tx.execute(
                f"alter role {qident(name)} nologin nosuperuser nobypassrls nocreatedb nocreaterole inherit"
            )
            res.changes.append(f"reset attributes of role {name}")
    members = {
        (m, g)
        for m, g in tx.query(
            "select m.rolname, g.rolname from pg_auth_members a join pg_roles m on m.oid = a.member "
            "join pg_roles g on g.oid = a.roleid where starts_with(g.rolname, ?)",
            [roles.prefix],
        )
    }
    for name in [*roles.grants, *wanted]:
        if (name, roles.reader) not in members:
            tx.execute(f"grant {qident(roles.reader)} to {qident(name)}")
            res.changes.append(f"grant {roles.reader} to {name}")
    keep = {roles.reader, *roles.grants, *wanted}
    for name in sorted(set(existing) - keep):
        tx.execute(f"drop owned by {qident(name)}")
        tx.execute(f"drop role {qident(name)}")
        res.changes.append(f"drop role {name} (no longer in the reference)")
    res.roles = len(keep)


def _sync_scope(tx: Tx, scope: dict[str, set[tuple[str, str]]], res: Result) -> None:
    want = {(r, k, v) for r, kv in scope.items() for k, v in kv}
    have = set(tx.query("select role_name, kind, value from access.role_scope"))
    gone, new = sorted(have - want), sorted(want - have)
    for r, k, v in gone:
        tx.execute("delete from access.role_scope where role_name = ? and kind = ? and value = ?", [r, k, v])
    for r, k, v in new:
        tx.execute("insert into access.role_scope (role_name, kind, value) values (?, ?, ?)", [r, k, v])
    if gone or new:
        res.changes.append(f"role_scope: {len(new)} rows added, {len(gone)} removed")
    res.scope_rows = len(want)


# --- the fixed objects: schemas, functions, scope and audit tables --------------------------------------------


def _sync_base(tx: Tx, roles: Roles, res: Result) -> None:
    for schema in (ACCESS_SCHEMA, READER_SCHEMA):
        if not tx.scalar("select count(*) from pg_namespace where nspname = ?", [schema]):
            tx.execute(f"create schema {qident(schema)}")
            res.changes.append(f"create schema {schema}")
            if schema == ACCESS_SCHEMA:
                tx.execute(f"comment on schema {qident(schema)} is {qliteral(_PREFIX_NOTE + roles.prefix)}")
    if not tx.table_exists(ACCESS_SCHEMA, "role_scope"):
        tx.execute(
            "create table access.role_scope (role_name text not null, kind text not null, value text not null, "
            "primary key (kind, value, role_name))"
        )
        tx.execute("create index role_scope_role on access.role_scope (role_name, kind)")
        res.changes.append("create table access.role_scope")
    if not tx.table_exists(ACCESS_SCHEMA, "config"):
        tx.execute("create table access.config (name text primary key, value text not null)")
        res.changes.append("create table access.config")
    if not tx.table_exists(ACCESS_SCHEMA, "audit_log"):
        for stmt in AUDIT_DDL:
            tx.execute(stmt)
        res.changes.append("create table access.audit_log")
    for name, sql in FUNCTIONS.items():
        cur = (
            _comment(tx, "select obj_description(?::regprocedure, 'pg_proc')", [f"access.{name}(text)"])
            if _function_exists(tx, name, "t text")
            else None
        )
        _ensure(tx, res, f"function access.{name}", cur, [sql], f"function access.{name}(text)", _fp(sql))
    cur = (
        _comment(tx, "select obj_description('access.audit_read(text,text)'::regprocedure, 'pg_proc')", [])
        if _function_exists(tx, "audit_read", "p_view text, p_role text")
        else None
    )
    audit_grants = [
        "revoke all on function access.audit_read(text, text) from public",
        f"grant execute on function access.audit_read(text, text) to {qident(roles.reader)}",
    ]
    _ensure(
        tx,
        res,
        "function access.audit_read",
        cur,
        [AUDIT_FUNCTION, *audit_grants],
        "function access.audit_read(text, text)",
        _fp(AUDIT_FUNCTION, *audit_grants),
    )
    # role_scope: a reader sees the rows of its own roles (the mart policies read it as the reader)
    policy = "using (pg_has_role(current_user, role_name, 'MEMBER'))"
    owner = tx.scalar(
        "select tableowner from pg_tables where schemaname = 'access' and tablename = 'role_scope'"
    )
    _sync_table_security(
        tx,
        res,
        roles,
        "access",
        "role_scope",
        {
            f"{roles.prefix}own_scope": f"for select to {qident(roles.reader)} {policy}",
            f"{roles.prefix}owner": f"for all to {qident(owner)} using (true) with check (true)",
        },
    )
    _sync_select_grants(tx, res, roles, "access", "role_scope", {roles.reader})
    # nobody but the owner writes or reads the audit log; readers cannot create anything
    _sync_select_grants(tx, res, roles, "access", "audit_log", set())
    db = tx.scalar("select current_database()")
    lockdown = [
        "revoke create on schema public from public",
        f"revoke create, temporary on database {qident(db)} from public",
        f"grant temporary on database {qident(db)} to current_user",
        f"grant usage on schema {qident(READER_SCHEMA)} to {qident(roles.reader)}",
    ]
    fp = _fp(*lockdown)
    cur = _comment(
        tx, "select obj_description(oid, 'pg_namespace') from pg_namespace where nspname = ?", [READER_SCHEMA]
    )
    _ensure(
        tx,
        res,
        "revoke create on schema public and the database",
        cur,
        lockdown,
        f"schema {READER_SCHEMA}",
        fp,
    )


def _function_exists(tx: Tx, name: str, args: str) -> bool:
    """Does ``access.<name>`` exist with these identity arguments (as pg_get_function_identity_arguments)?"""
    return bool(
        tx.scalar(
            "select count(*) from pg_proc p join pg_namespace n on n.oid = p.pronamespace "
            "where n.nspname = 'access' and p.proname = ? and pg_get_function_identity_arguments(p.oid) = ?",
            [name, args],
        )
    )


# --- per table: row-level security, grants, views ----------------------------------------------------------


def _sync_table_security(
    tx: Tx, res: Result, roles: Roles, schema: str, table: str, policies: dict[str, str]
) -> None:
    """ENABLE + FORCE row-level security and exactly ``policies`` (name -> clause after ``on table``) among the
    policies whose name starts with the prefix."""
    rel = qname(schema, table)
    on, force = tx.query(
        "select c.relrowsecurity, c.relforcerowsecurity from pg_class c join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = ? and c.relname = ?",
        [schema, table],
    )[0]
    if not on:
        tx.execute(f"alter table {rel} enable row level security")
        res.changes.append(f"enable row level security on {schema}.{table}")
    if not force:
        tx.execute(f"alter table {rel} force row level security")
        res.changes.append(f"force row level security on {schema}.{table}")
    have = {
        name: note
        for name, note in tx.query(
            "select p.polname, obj_description(p.oid, 'pg_policy') from pg_policy p "
            "join pg_class c on c.oid = p.polrelid join pg_namespace n on n.oid = c.relnamespace "
            "where n.nspname = ? and c.relname = ? and starts_with(p.polname, ?)",
            [schema, table, roles.prefix],
        )
        if name.removeprefix(roles.prefix) in POLICIES  # a city's own policy is left alone
    }
    for name, clause in sorted(policies.items()):
        ddl = [f"create policy {qident(name)} on {rel} {clause}"]
        if name in have:
            ddl.insert(0, f"drop policy {qident(name)} on {rel}")
        _ensure(
            tx,
            res,
            f"policy {name} on {schema}.{table}",
            have.get(name),
            ddl,
            f"policy {qident(name)} on {rel}",
            _fp(clause),
        )
    for name in sorted(set(have) - set(policies)):
        tx.execute(f"drop policy {qident(name)} on {rel}")
        res.changes.append(f"drop policy {name} on {schema}.{table}")


def _sync_select_grants(tx: Tx, res: Result, roles: Roles, schema: str, rel: str, want: set[str]) -> None:
    """Exactly ``want`` among the roles this sync manages hold SELECT on the relation (and nothing else)."""
    have: dict[str, set[str]] = {}
    for grantee, priv in tx.query(
        "select r.rolname, a.privilege_type from pg_class c join pg_namespace n on n.oid = c.relnamespace, "
        "aclexplode(c.relacl) a join pg_roles r on r.oid = a.grantee "
        "where n.nspname = ? and c.relname = ? and starts_with(r.rolname, ?)",
        [schema, rel, roles.prefix],
    ):
        if roles.managed(grantee):  # a city's own role that happens to share the prefix keeps its grants
            have.setdefault(grantee, set()).add(priv)
    name = qname(schema, rel)
    for role in sorted(set(have) | want):
        if role in want and have.get(role) == {"SELECT"}:
            continue
        if role in have:
            tx.execute(f"revoke all on {name} from {qident(role)}")
        if role in want:
            tx.execute(f"grant select on {name} to {qident(role)}")
            res.changes.append(f"grant select on {schema}.{rel} to {role}")
        else:
            res.changes.append(f"revoke all on {schema}.{rel} from {role}")


@dataclass
class MartPlan:
    schema: str
    table: str
    columns: list[tuple[str, str]]  # (name, data_type)

    @property
    def names(self) -> set[str]:
        return {c for c, _ in self.columns}

    @property
    def restricted(self) -> bool:
        return self.schema in RESTRICTED_SCHEMAS

    @property
    def public(self) -> bool:
        return self.table in PUBLIC_MARTS or not (self.department_column or self.geo_columns)

    @property
    def department_column(self) -> tuple[str, str] | None:
        return next(((c, k) for c, k in DEPARTMENT_COLUMNS if c in self.names), None)

    @property
    def geo_columns(self) -> list[tuple[str, str]]:
        return [(c, k) for c, k in GEO_COLUMNS if c in self.names]

    @property
    def party_rows(self) -> list[tuple[str, str]]:
        return [(c, v) for c, v in PARTY_ROWS if c in self.names]

    @property
    def has_party(self) -> bool:
        return bool(self.names & PARTY_COLUMNS or self.party_rows)

    @property
    def has_special(self) -> bool:
        return bool(self.names & SPECIAL_COLUMNS)

    @property
    def personal(self) -> bool:
        return bool(self.names & (ID_COLUMNS | PHONE_COLUMNS | NAME_COLUMNS))


def scope_expression(plan: MartPlan) -> dict[str, str]:
    """Policy name suffix -> USING expression, for a scoped mart (empty for a public one)."""
    if plan.public:
        return {}

    def within(col: str, kind: str) -> str:
        return f"{qident(col)} in (select s.value from access.role_scope s where s.kind = {qliteral(kind)})"

    out = {}
    if plan.department_column:
        out["department"] = within(*plan.department_column)
    geo = plan.geo_columns
    if geo:
        # the most specific code the row has decides: grid, else community, else street
        terms = []
        for i, (col, kind) in enumerate(geo):
            nulls = [f"{qident(c)} is null" for c, _ in geo[:i]]
            terms.append("(" + " and ".join([*nulls, within(col, kind)]) + ")")
        out["geography"] = " or ".join(terms)
    return out


def _select_list(plan: MartPlan, include: set[str]) -> str:
    """The view's columns: personal columns masked, other text passed through the ID/mobile net; party and
    special columns only when ``include`` names their class."""
    cols = []
    for name, dtype in plan.columns:
        q = qident(name)
        low = name.lower()
        if low in PARTY_COLUMNS and "party" not in include:
            continue
        if low in SPECIAL_COLUMNS and "special" not in include:
            continue
        if low in ID_COLUMNS:
            expr = f"access.mask_id(t.{q}::text)"
        elif low in PHONE_COLUMNS:
            expr = f"access.mask_phone(t.{q}::text)"
        elif low in NAME_COLUMNS:
            expr = f"access.mask_name(t.{q}::text)"
        elif dtype in TEXT_TYPES:  # the regex test in the view keeps the function call off most cells
            expr = f"case when t.{q} ~ '[0-9]{{11}}' then access.mask_text(t.{q}::text) else t.{q}::text end"
        else:
            expr = f"t.{q}"
        cols.append(f"{expr} as {q}")
    return ",\n    ".join(cols)


def view_definitions(plan: MartPlan, roles: Roles) -> dict[str, tuple[str, set[str], bool]]:
    """View name -> (select statement, roles granted SELECT, audited)."""
    out: dict[str, tuple[str, set[str], bool]] = {}
    src = qname(plan.schema, plan.table)

    def body(view: str, include: set[str], where: list[str], audited: bool) -> str:
        conds = list(where)
        if audited:
            conds.append(
                f"(select access.audit_read({qliteral(f'{READER_SCHEMA}.{view}')}, current_user::text))"
            )
        sql = f"select\n    {_select_list(plan, include)}\nfrom {src} as t"
        return sql + ("\nwhere " + "\n  and ".join(conds) if conds else "")

    if plan.restricted:
        out[plan.table] = (body(plan.table, {"party"}, [], True), {roles.once_only}, True)
        return out
    hide_rows = [f"t.{qident(c)} is distinct from {qliteral(v)}" for c, v in plan.party_rows]
    out[plan.table] = (body(plan.table, set(), hide_rows, plan.personal), {roles.reader}, plan.personal)
    if plan.has_party:
        v = f"{plan.table}__party"
        out[v] = (body(v, {"party"}, [], True), {roles.party}, True)
    if plan.has_special:
        v = f"{plan.table}__special"
        out[v] = (body(v, {"special"}, hide_rows, True), {roles.special}, True)
    return out


def mart_tables(tx: Tx) -> list[MartPlan]:
    rows = tx.query(
        "select c.table_schema, c.table_name, c.column_name, c.data_type from information_schema.columns c "
        "join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name "
        "where c.table_schema like 'mart\\_%' escape '\\' and c.table_schema not like '%\\_\\_build' escape '\\' "
        "and t.table_type = 'BASE TABLE' order by c.table_schema, c.table_name, c.ordinal_position"
    )
    plans: dict[tuple[str, str], MartPlan] = {}
    for s, t, c, d in rows:
        plans.setdefault((s, t), MartPlan(s, t, [])).columns.append((c, d))
    return list(plans.values())


def _sync_marts(tx: Tx, roles: Roles, res: Result, services: list[str]) -> None:
    plans = mart_tables(tx)
    names = [p.table for p in plans]
    if len(names) != len(set(names)):
        raise AccessError(f"two mart schemas hold a table of the same name: {sorted(names)}")
    views: dict[str, tuple[str, set[str], bool]] = {}
    for plan in plans:
        owner = tx.scalar(
            "select tableowner from pg_tables where schemaname = ? and tablename = ?",
            [plan.schema, plan.table],
        )
        policies = {f"{roles.prefix}owner": f"for all to {qident(owner)} using (true) with check (true)"}
        reader = roles.once_only if plan.restricted else roles.reader
        scoped = scope_expression(plan)
        if not scoped:
            policies[f"{roles.prefix}public"] = f"for select to {qident(reader)} using (true)"
        for suffix, expr in scoped.items():
            policies[f"{roles.prefix}{suffix}"] = f"for select to {qident(reader)} using ({expr})"
        if (
            services
        ):  # the serving API scopes by API key itself; its role reads every row (its grants are the city's)
            policies[f"{roles.prefix}service"] = (
                f"for select to {', '.join(map(qident, services))} using (true)"
            )
        _sync_table_security(tx, res, roles, plan.schema, plan.table, policies)
        _sync_select_grants(tx, res, roles, plan.schema, plan.table, {reader})
        views.update(view_definitions(plan, roles))
    have = dict(
        tx.query(
            "select c.relname, obj_description(c.oid, 'pg_class') from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace where n.nspname = ? and c.relkind = 'v'",
            [READER_SCHEMA],
        )
    )
    for name in sorted(set(have) - set(views)):
        tx.execute(f"drop view {qname(READER_SCHEMA, name)}")
        res.changes.append(f"drop view {READER_SCHEMA}.{name}")
    for name, (sql, _grantees, _audited) in sorted(views.items()):
        rel = qname(READER_SCHEMA, name)
        ddl = [f"create view {rel} with (security_invoker = true) as\n{sql}"]
        if name in have:
            ddl.insert(0, f"drop view {rel}")
        _ensure(tx, res, f"view {READER_SCHEMA}.{name}", have.get(name), ddl, f"view {rel}", _fp(sql))
    for name, (_sql, grantees, _audited) in sorted(views.items()):
        _sync_select_grants(tx, res, roles, READER_SCHEMA, name, grantees)
    res.tables = len(plans)
    res.views = len(views)


# --- entry points ------------------------------------------------------------------------------------------


def audit_mode(tx: Tx) -> str:
    """'pgaudit' when the extension is loaded by the server, else 'security-definer function'."""
    libs = str(tx.scalar("select current_setting('shared_preload_libraries')") or "")
    if "pgaudit" in [x.strip() for x in libs.split(",")]:
        return "pgaudit + security-definer function"
    return "security-definer function (pgaudit is not in shared_preload_libraries)"


def configured(tx: Tx) -> str | None:
    """The role prefix access was set up with in this warehouse (publishing then keeps it in step), or None."""
    if tx.dialect != "postgres" or not tx.table_exists(ACCESS_SCHEMA, "role_scope"):
        return None
    note = str(
        tx.scalar(
            "select obj_description(oid, 'pg_namespace') from pg_namespace where nspname = ?", [ACCESS_SCHEMA]
        )
        or ""
    )
    return note.removeprefix(_PREFIX_NOTE) if note.startswith(_PREFIX_NOTE) else "yw_"


def sync_tx(tx: Tx, prefix: str | None = None) -> Result:
    """Bring roles, scope, row-level security, grants and reader views in step, inside ``tx``."""
    if tx.dialect != "postgres":
        raise AccessError(
            "department access needs the PostgreSQL warehouse profile (row-level security, roles)"
        )
    roles = Roles(prefix or role_prefix())
    res = Result()
    res.audit = audit_mode(tx)
    stored = configured(tx)
    if stored is not None and stored != roles.prefix:
        raise AccessError(
            f"access was set up with role prefix {stored!r} in this warehouse, not {roles.prefix!r}: "
            f"set {PREFIX_ENV}={stored} (or run yiwang.access.remove first)"
        )
    scope = desired_scope(tx, roles, res)
    _sync_roles(tx, roles, scope, res)
    _sync_base(tx, roles, res)
    _sync_scope(tx, scope, res)
    _sync_marts(tx, roles, res, _service_roles(tx, res))
    return res


def _service_roles(tx: Tx, res: Result) -> list[str]:
    """YIWANG_ACCESS_SERVICE_ROLES when set (and then remembered in access.config), else what was remembered."""
    stored = tx.scalar("select value from access.config where name = 'service_roles'")
    env = os.environ.get(SERVICE_ENV)
    value = (
        ",".join(sorted({r.strip() for r in env.split(",") if r.strip()}))
        if env is not None
        else stored or ""
    )
    if value != (stored or ""):
        tx.execute("delete from access.config where name = 'service_roles'")
        tx.execute("insert into access.config (name, value) values ('service_roles', ?)", [value])
        res.changes.append(f"service roles: {value or 'none'}")
    out = []
    for role in value.split(",") if value else []:
        if tx.scalar("select count(*) from pg_roles where rolname = ?", [role]):
            out.append(role)
        else:
            res.skipped.append(f"service role {role!r} does not exist")
    return out


def sync(url: str | None = None, prefix: str | None = None) -> Result:
    """``yiwang access sync``: one transaction (roles, grants and policies are transactional in PostgreSQL)."""
    with open_warehouse(url) as wh:
        if wh.dialect != "postgres":
            raise AccessError(
                "department access needs the PostgreSQL warehouse profile (row-level security, roles)"
            )
        with wh.transaction() as tx:
            return sync_tx(tx, prefix)


def remove(url: str | None = None, prefix: str | None = None) -> list[str]:
    """Drop every role, view and policy this sync made (in this database; roles are cluster-wide)."""
    roles = Roles(prefix or role_prefix())
    done = []
    with open_warehouse(url) as wh, wh.transaction() as tx:
        tx.execute(f"drop schema if exists {qident(READER_SCHEMA)} cascade")
        for plan in mart_tables(tx):
            for (pol,) in tx.query(
                "select p.polname from pg_policy p join pg_class c on c.oid = p.polrelid "
                "join pg_namespace n on n.oid = c.relnamespace where n.nspname = ? and c.relname = ? "
                "and starts_with(p.polname, ?)",
                [plan.schema, plan.table, roles.prefix],
            ):
                if pol.removeprefix(roles.prefix) in POLICIES:
                    tx.execute(f"drop policy {qident(pol)} on {qname(plan.schema, plan.table)}")
        tx.execute(f"drop schema if exists {qident(ACCESS_SCHEMA)} cascade")
        for (name,) in tx.query(
            "select rolname from pg_roles where starts_with(rolname, ?) order by 1", [roles.prefix]
        ):
            if roles.managed(name):
                tx.execute(f"drop owned by {qident(name)}")
                tx.execute(f"drop role {qident(name)}")
                done.append(name)
    return done
