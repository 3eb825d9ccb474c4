"""What the API reads: SQL over the published marts (yiwang.snapshot.open_published) and small-cell suppression.

Every query is parameterised (``?``; the reader turns them into %s on PostgreSQL) and names its columns; no
user text ever becomes SQL. Marts read (all published ``mart_*`` schemas):

- mart_catalog.service_catalog, mart_catalog.approval_on_time_by_item_period
- mart_governance.governance_by_grid_month / _by_community_month / _by_department_month
- mart_demands.demands_by_department_community, mart_party.party_check_in_rate_by_community
- mart_property.property_estate_yearly
- mart_residents.resident_services (restricted: published only when the city switches restricted marts on)

The community and grid dashboards read one row of the publish's lookup tables instead (yiwang.serving_tables:
the marts' rows each dashboard is computed from, written by the publish), and the marts above when the publish
has none (a snapshot from before them, a PostgreSQL role not granted them).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb

from yiwang import serving_tables
from yiwang.settings import Settings
from yiwang.snapshot import NotPublished, Reader, current_snapshot, open_published

# the contract (yiwang/contracts/source_systems.yaml): a timestamp without an offset is local time, Asia/Shanghai
LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def _local(v: Any) -> Any:
    """A mart timestamp (local time, no offset) with its offset, as RFC 3339 date-time wants."""
    return v.replace(tzinfo=LOCAL_TZ) if isinstance(v, dt.datetime) and v.tzinfo is None else v


class BadCursor(ValueError):
    """A cursor that is malformed, from another query, or deeper than the limit."""


@dataclass(frozen=True)
class Version:
    """Which publish the reader sees: the ETag's basis and Last-Modified; and ``lookups``, the lookup tables it
    has that the reader may read (yiwang.serving_tables)."""

    build_id: str | None
    published_at: dt.datetime | None
    lookups: frozenset[str] = frozenset()


class SnapshotConnections:
    """One read-only DuckDB connection per snapshot file, shared by the requests through cursors (and, on
    PostgreSQL, which lookup tables each publish has: :meth:`lookups_of_build`).

    Opening a snapshot costs about as much as a whole request (77 ms against 12 ms for a catalog query on the
    tiny city here), so the API keeps the snapshot the link names open and gives each request a cursor of its
    own. When a publish moves the link, the next request opens the new file; the older connections are let go
    (requests still reading them keep their cursors; a pruned file stays readable through them), so the API
    never holds more than ``keep`` snapshots. The pipeline never opens a snapshot (yiwang.snapshot)."""

    def __init__(self, keep: int = 2) -> None:
        self.keep = keep
        # path -> (the connection, the lookup tables of the snapshot)
        self._cons: OrderedDict[Path, tuple[Any, frozenset[str]]] = OrderedDict()
        self._lock = threading.Lock()
        self._pg_lookups: OrderedDict[str, frozenset[str]] = OrderedDict()  # build id -> lookup tables

    def lookups_of_build(self, build_id: str | None, reader: Reader) -> frozenset[str]:
        """PostgreSQL: the lookup tables the role may read, asked once per publish (build id); every time when
        the role cannot see the build log."""
        if build_id is None:
            return lookup_tables(reader)
        with self._lock:
            known = self._pg_lookups.get(build_id)
        if known is None:
            known = lookup_tables(reader)
            with self._lock:
                self._pg_lookups[build_id] = known
                while len(self._pg_lookups) > self.keep:
                    self._pg_lookups.popitem(last=False)
        return known

    @contextmanager
    def reader(self, settings: Settings) -> Iterator[tuple[Reader, Path, frozenset[str]]]:
        """A cursor on the current snapshot, its path and the lookup tables it has."""

        path = current_snapshot(settings)
        if path is None:
            raise NotPublished("no build has been published yet: run `yiwang build`")
        with self._lock:
            opened = self._cons.get(path)
            if opened is None:
                # one thread per query: requests run side by side in the API's thread pool and each query is
                # small; DuckDB's own workers only add hand-offs (catalog search on medium at load ~5: mean 1.5 ms
                # against 2.1 ms with 2 threads; queries on separate cursors still run at the same time)
                # (set after connecting: another connection to the file in this process, with the default
                # configuration, would otherwise be refused)
                con = duckdb.connect(str(path), read_only=True)
                con.execute("set threads = 1")
                opened = self._cons[path] = (con, lookup_tables(Reader(con, True)))
                while len(self._cons) > self.keep:
                    self._cons.popitem(last=False)  # closed when its last cursor is
        con, lookups = opened
        cur = con.cursor()
        try:
            yield Reader(cur, True), path, lookups
        finally:
            cur.close()


@contextmanager
def published(
    settings: Settings, pool: SnapshotConnections | None = None
) -> Iterator[tuple[Reader, Version]]:
    """The published marts and the build they come from, read in one snapshot (DuckDB: the file the link named
    when the request began, through ``pool`` when given; PostgreSQL: one read-only transaction)."""
    if settings.is_duckdb and pool is not None:
        with pool.reader(settings) as (reader, path, lookups):
            yield reader, _snapshot_version(path, lookups)
        return
    with open_published(settings) as reader:
        yield reader, _version(reader, settings, pool)


def _snapshot_version(path: Path, lookups: frozenset[str]) -> Version:
    build_id = path.stem.removeprefix("marts-")
    try:  # pruned after this reader opened it (three publishes later): still readable, no date
        stamp = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).replace(microsecond=0)
    except OSError:
        stamp = None
    return Version(build_id, stamp, lookups)


def lookup_tables(reader: Reader) -> frozenset[str]:
    """The lookup tables the publish has (DuckDB: a snapshot published since they exist) and, on PostgreSQL, the
    reader's role may read (USAGE on the schema, SELECT on the table)."""
    if reader.is_duckdb:
        sql = "select table_name from information_schema.tables where table_schema = ?"
    else:
        sql = """select c.relname from pg_catalog.pg_class c
                 join pg_catalog.pg_namespace n on n.oid = c.relnamespace
                 where n.nspname = ? and c.relkind in ('r', 'p') and has_schema_privilege(n.oid, 'usage')
                   and has_table_privilege(c.oid, 'select')"""
    _, rows = reader.query(sql, [serving_tables.SCHEMA])
    return frozenset(r[0] for r in rows) & frozenset(serving_tables.TABLES)


def _version(reader: Reader, settings: Settings, pool: SnapshotConnections | None = None) -> Version:
    if settings.is_duckdb:
        _, rows = reader.query("select path from duckdb_databases() where database_name = current_database()")
        if not rows or not rows[0][0]:
            return Version(None, None, lookup_tables(reader))
        return _snapshot_version(Path(rows[0][0]), lookup_tables(reader))
    _, readable = reader.query(  # a reader role may not see ops: then no validators, answers still correct
        """select case when exists (select 1 from pg_catalog.pg_tables
                                    where schemaname = 'ops' and tablename = 'build_log')
                       then has_schema_privilege('ops', 'usage') and has_table_privilege('ops.build_log', 'select')
                       else false end"""
    )
    rows = []
    if readable[0][0]:
        _, rows = reader.query(
            "select build_id, published_at from ops.build_log order by published_at desc limit 1"
        )
    build_id = rows[0][0] if rows else None
    lookups = pool.lookups_of_build(build_id, reader) if pool is not None else lookup_tables(reader)
    if not rows:
        return Version(None, None, lookups)
    return Version(build_id, rows[0][1].replace(tzinfo=dt.UTC, microsecond=0), lookups)


def _rows(reader: Reader, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cols, rows = reader.query(sql, params or [])
    return [dict(zip(cols, r)) for r in rows]


# -- small-cell suppression --------------------------------------------------------------------------------
class Suppressor:
    """Counts 1..k-1 answer null; a rate or mean answers null when its denominator is below k. ``hit`` tells
    whether anything in the current row was suppressed. Zero is shown: it singles out nobody."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.hit = False

    def count(self, n: Any) -> int | None:
        if n is None:
            return None
        n = int(n)
        if 0 < n < self.k:
            self.hit = True
            return None
        return n

    def rate(self, value: Any, denominator: Any) -> float | None:
        if value is None:
            return None
        if denominator is None or int(denominator) < self.k:
            self.hit = True
            return None
        return float(value)

    def take(self) -> bool:
        hit, self.hit = self.hit, False
        return hit


def _num(v: Any) -> float | None:
    return None if v is None else float(v)


def _int(v: Any) -> int | None:
    return None if v is None else int(v)


# -- catalog --------------------------------------------------------------------------------------------------
CATALOG_COLUMNS = ", ".join(serving_tables.CATALOG_COLUMNS)


def _figures(r: dict[str, Any], window: int, s: Suppressor) -> dict[str, Any]:
    w = f"_{window}d"
    decided = None
    if r[f"on_time_cases{w}"] is not None or r[f"overdue_cases{w}"] is not None:
        decided = int(r[f"on_time_cases{w}"] or 0) + int(r[f"overdue_cases{w}"] or 0)
    out = {
        "window_days": window,
        "cases": s.count(r[f"cases{w}"]),
        "on_time_rate": s.rate(r[f"on_time_rate{w}"], decided),
        "median_handling_working_days": s.rate(r[f"median_handling_working_days{w}"], decided),
        "orders": s.count(r[f"orders{w}"]),
        "ratings": s.count(r[f"ratings{w}"]),
        "satisfied_share": s.rate(r[f"satisfied_share{w}"], r[f"ratings{w}"]),
        "mean_rating": s.rate(r[f"mean_rating{w}"], r[f"ratings{w}"]),
    }
    out["suppressed"] = s.take()
    return out


def catalog_item(r: dict[str, Any], k: int) -> dict[str, Any]:
    s = Suppressor(k)
    return {
        "item_code": r["item_code"],
        "item_kind": r["item_kind"],
        "item_name": r["item_name"],
        "category": r["item_type"],
        "department_uscc": r["department_uscc"],
        "department_name": r["department_name"],
        "provider_name": r["provider_name"],
        "level": r["level"],
        "promised_limit_days": _int(r["promised_limit_days"]),
        "handling_type": r["handling_type"],
        "online_level": r["online_level"],
        "max_visits": _int(r["max_visits"]),
        "bookable_online": r["bookable_online"],
        "communities": [c for c in (r["community_names"] or "").split(",") if c],
        "as_of_date": r["as_of_date"],
        "figures_30d": _figures(r, 30, s),
        "figures_365d": _figures(r, 365, s),
    }


@dataclass(frozen=True)
class CatalogQuery:
    q: str | None = None
    category: str | None = None
    department: str | None = None
    community: str | None = None
    kind: str | None = None

    def fingerprint(self) -> str:
        """Ties a cursor to the filters it was made for."""
        doc = json.dumps(
            [self.q, self.category, self.department, self.community, self.kind], ensure_ascii=False
        )
        return hashlib.sha256(doc.encode()).hexdigest()[:12]

    def where(self) -> tuple[str, list[Any]]:
        clauses, params = [], []
        if self.q:
            clauses.append("strpos(lower(coalesce(item_name, '')), lower(?)) > 0")
            params.append(self.q)
        if self.category:
            clauses.append("item_type = ?")
            params.append(self.category)
        if self.department:
            clauses.append("(department_uscc = ? or strpos(coalesce(department_name, ''), ?) > 0)")
            params += [self.department.upper(), self.department]
        if self.community:
            clauses.append("strpos(',' || coalesce(community_names, '') || ',', ?) > 0")
            params.append(f",{self.community},")
        if self.kind:
            clauses.append("item_kind = ?")
            params.append(self.kind)
        return " and ".join(clauses) or "true", params


def encode_cursor(after: str, page: int, query: CatalogQuery) -> str:
    doc = json.dumps(
        {"a": after, "p": page, "f": query.fingerprint()}, ensure_ascii=False, separators=(",", ":")
    )
    return base64.urlsafe_b64encode(doc.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, query: CatalogQuery, max_pages: int) -> tuple[str, int]:
    try:
        doc = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
        after, page, fingerprint = doc["a"], doc["p"], doc["f"]
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError) as e:
        raise BadCursor("cursor is not one this API issued") from e
    if not isinstance(after, str) or not isinstance(page, int) or isinstance(page, bool) or page < 1:
        raise BadCursor("cursor is not one this API issued")
    if fingerprint != query.fingerprint():
        raise BadCursor("cursor belongs to a query with other filters: start again without a cursor")
    if page >= max_pages:
        raise BadCursor(f"cursor is deeper than {max_pages} pages: narrow the search")
    return after, page


def _catalog_rows(
    reader: Reader, where: str, params: list[Any], tail: str, lookups: frozenset[str]
) -> list[dict[str, Any]]:
    """The served columns of the catalog items ``where`` selects: from the publish's lookup table when
    ``lookups`` names it (the same filter columns, the rest as parts), else from the mart."""
    if serving_tables.CATALOG_PARTS in lookups:
        table = f"{serving_tables.SCHEMA}.{serving_tables.CATALOG_PARTS}"
        _, rows = reader.query(f"select parts from {table} where {where} {tail}", params)
        return [json.loads(r[0]) for r in rows]
    return _rows(
        reader, f"select {CATALOG_COLUMNS} from mart_catalog.service_catalog where {where} {tail}", params
    )


def catalog_page(
    reader: Reader,
    query: CatalogQuery,
    limit: int,
    after: str | None,
    k: int,
    lookups: frozenset[str] = frozenset(),
) -> tuple[list[dict[str, Any]], bool]:
    """Items after ``after`` (keyset paging on item_code), and whether more follow."""
    where, params = query.where()
    if after is not None:
        where += " and item_code > ?"
        params.append(after)
    rows = _catalog_rows(reader, where, [*params, limit + 1], "order by item_code limit ?", lookups)
    return [catalog_item(r, k) for r in rows[:limit]], len(rows) > limit


def item_detail(
    reader: Reader, item_code: str, period_type: str, k: int, lookups: frozenset[str] = frozenset()
) -> dict[str, Any] | None:
    rows = _catalog_rows(reader, "item_code = ?", [item_code], "", lookups)
    if not rows:
        return None
    periods = _rows(
        reader,
        """select period_type, period_start, period_end, cases, on_time_cases, overdue_cases, on_time_rate,
                  median_handling_working_days, is_period_closed, figures_final
           from mart_catalog.approval_on_time_by_item_period
           where item_code = ? and period_type = ? order by period_start""",
        [item_code, period_type],
    )
    s = Suppressor(k)
    out = []
    for p in periods:
        decided = int(p["on_time_cases"] or 0) + int(p["overdue_cases"] or 0)
        out.append(
            {
                "period_type": p["period_type"],
                "period_start": p["period_start"],
                "period_end": p["period_end"],
                "cases": s.count(p["cases"]),
                "on_time_rate": s.rate(p["on_time_rate"], decided),
                "median_handling_working_days": s.rate(p["median_handling_working_days"], decided),
                "is_period_closed": p["is_period_closed"],
                "figures_final": p["figures_final"],
                "suppressed": s.take(),
            }
        )
    return {"item": catalog_item(rows[0], k), "periods": out}


# -- dashboards -----------------------------------------------------------------------------------------------
EVENT_COLUMNS = ", ".join(serving_tables.EVENT_COLUMNS)


def _lookup(reader: Reader, table: str, key: str) -> serving_tables.Parts | None:
    """One row of a lookup table (yiwang.serving_tables): the parts a dashboard is computed from."""
    column = serving_tables.TABLES[table][0]
    _, rows = reader.query(f"select parts from {serving_tables.SCHEMA}.{table} where {column} = ?", [key])
    return json.loads(rows[0][0]) if rows else None


def _marts(reader: Reader) -> serving_tables.Query:
    return lambda sql, params: reader.query(sql, list(params))[1]


def _events_month(r: dict[str, Any], s: Suppressor | None) -> dict[str, Any]:
    decided = int(r["on_time_events"] or 0) + int(r["overdue_events"] or 0)
    if s is None:  # authorised callers: the figures as published
        return {
            "month": r["month_start"],
            "events": _int(r["events"]),
            "closed_events": _int(r["closed_events"]),
            "on_time_rate": _num(r["on_time_rate"]),
            "satisfaction_rate": _num(r["satisfaction_rate"]),
            "avg_hours_to_close": _num(r["avg_hours_to_close"]),
            "suppressed": False,
        }
    return {
        "month": r["month_start"],
        "events": s.count(r["events"]),
        "closed_events": s.count(r["closed_events"]),
        "on_time_rate": s.rate(r["on_time_rate"], decided),
        "satisfaction_rate": s.rate(r["satisfaction_rate"], r["evaluated_events"]),
        "avg_hours_to_close": s.rate(r["avg_hours_to_close"], r["closed_events"]),
        "suppressed": s.take(),
    }


def grid_dashboard(
    reader: Reader, grid_code: str, k: int, lookups: frozenset[str] = frozenset()
) -> dict[str, Any] | None:
    """A grid's months: from the publish's lookup table when ``lookups`` names it, else from the mart."""
    if serving_tables.GRID_PARTS in lookups:
        parts = _lookup(reader, serving_tables.GRID_PARTS, grid_code)
    else:
        parts = serving_tables.grid_parts(_marts(reader), grid_code).get(grid_code)
    if parts is None:
        return None
    rows = parts["months"]
    s = Suppressor(k)
    last = rows[-1]
    return {
        "grid_code": grid_code,
        **{
            c: last[c]
            for c in ("grid_name", "community_code", "community_name", "street_code", "street_name")
        },
        "months": [_events_month(r, s) for r in rows],
    }


def _mechanism_rates(c: dict[str, Any], s: Suppressor) -> tuple[float | None, float | None]:
    """Complaints per 100 households of a year's estates with the joint mechanism (党组织 + 业委会 + 物业) and
    without it (estates with known, non-zero households, as property_mechanism_comparison counts them). Both
    answer null when either group's complaints are 1..k-1: the year's total and one group's rate would give the
    other group's count away."""
    groups = [(_int(c["complaints_with"]), _int(c["households_with"]))]
    groups.append((_int(c["complaints_without"]), _int(c["households_without"])))
    if any(n is not None and s.count(n) is None for n, _ in groups):
        return None, None
    rates = [round(100.0 * n / h, 4) if h and n is not None else None for n, h in groups]
    return rates[0], rates[1]


def communities(reader: Reader) -> list[dict[str, Any]]:
    """Every community a dashboard answers for, with its street and grids (names as of their latest month)."""
    found: dict[str, dict[str, Any]] = {}
    for r in _rows(
        reader,
        """select community_code, community_name, street_code, street_name
           from mart_governance.governance_by_community_month where community_code is not null
           order by community_code, month_start""",
    ):
        found[r["community_code"]] = {**r, "grids": {}}
    for r in _rows(
        reader,
        """select community_code, community_name, street_code
           from mart_party.party_check_in_rate_by_community where community_code is not null
           order by community_code""",
    ):
        found.setdefault(r["community_code"], {**r, "street_name": None, "grids": {}})
    for r in _rows(
        reader,
        """select grid_code, grid_name, community_code from mart_governance.governance_by_grid_month
           where grid_code is not null and community_code is not null order by grid_code, month_start""",
    ):
        if r["community_code"] in found:
            found[r["community_code"]]["grids"][r["grid_code"]] = r["grid_name"]
    return [
        {
            **{k: c[k] for k in ("community_code", "community_name", "street_code", "street_name")},
            "grids": [{"grid_code": g, "grid_name": n} for g, n in sorted(c["grids"].items())],
        }
        for _, c in sorted(found.items())
    ]


def community_dashboard(
    reader: Reader, community_code: str, k: int, lookups: frozenset[str] = frozenset()
) -> dict[str, Any] | None:
    """A community's dashboard: from the publish's lookup table when ``lookups`` names it, else from the four
    marts."""
    if serving_tables.COMMUNITY_PARTS in lookups:
        parts = _lookup(reader, serving_tables.COMMUNITY_PARTS, community_code)
    else:
        parts = serving_tables.community_parts(_marts(reader), community_code).get(community_code)
    if parts is None:
        return None
    s = Suppressor(k)
    months, party, complaints = parts["months"], parts["party"], parts["complaints"]
    name = months[-1]["community_name"] if months else party[0]["community_name"]
    d = parts["demands"]
    demand_summary = None
    if d is not None:
        rated, satisfied = int(d["demands_rated"] or 0), int(d["demands_satisfied"] or 0)
        demand_summary = {
            "demands": s.count(d["demands"]),
            "demands_multi_channel": s.count(d["demands_multi_channel"]),
            "demands_repeated": s.count(d["demands_repeated"]),
            "demands_closed": s.count(d["demands_closed"]),
            "satisfied_share": s.rate(satisfied / rated if rated else None, rated),
            "suppressed": s.take(),
        }
    years = []
    for c in complaints:
        households, n = _int(c["households"]), _int(c["complaints"])
        per100 = round(100.0 * n / households, 4) if households and n is not None else None
        shown = s.count(n)
        with_rate, without_rate = _mechanism_rates(c, s)
        years.append(
            {
                "year": int(c["year"]),
                "estates": int(c["estates"]),
                "households": households,
                "complaints": shown,
                "complaints_per_100_households": per100 if shown is not None else None,
                "estates_with_joint_mechanism": int(c["estates_with_joint_mechanism"] or 0),
                "complaints_per_100_households_with_mechanism": with_rate,
                "complaints_per_100_households_without_mechanism": without_rate,
                "suppressed": s.take(),
            }
        )
    check_in = None
    if party:
        p = party[0]
        check_in = {
            "in_service_members": s.count(p["in_service_members"]),
            "members_checked_in": s.count(p["members_checked_in"]),
            "check_in_rate": s.rate(p["check_in_rate"], p["in_service_members"]),
            "suppressed": s.take(),
        }
    head = months[-1] if months else party[0]
    return {
        "community_code": community_code,
        "community_name": name,
        "street_code": head.get("street_code"),
        "street_name": months[-1]["street_name"] if months else None,
        "months": [_events_month(r, s) for r in months],
        "demands": demand_summary,
        "complaints": years,
        "party_check_in": check_in,
    }


# -- department performance (authorised: figures as published) ------------------------------------------------
def department_performance(reader: Reader, uscc: str) -> dict[str, Any] | None:
    months = _rows(
        reader,
        f"""select department_name, {EVENT_COLUMNS} from mart_governance.governance_by_department_month
            where department_uscc = ? order by month_start""",
        [uscc],
    )
    items = _rows(
        reader,
        """select item_code, item_name, department_name, cases_365d, on_time_rate_365d, satisfied_share_365d
           from mart_catalog.service_catalog where department_uscc = ? and item_kind = 'government'
           order by item_code""",
        [uscc],
    )
    if not months and not items:
        return None
    name = (months[-1]["department_name"] if months else None) or (
        items[0]["department_name"] if items else None
    )
    demands = (
        _rows(
            reader,
            """select community_code, demands, demands_closed, avg_dispatch_to_close_hours
               from mart_demands.demands_by_department_community where department_name = ?
               order by community_code nulls last""",
            [name],
        )
        if name
        else []
    )
    return {
        "department_uscc": uscc,
        "department_name": name,
        "events_by_month": [_events_month(r, None) for r in months],
        "items": [
            {
                "item_code": i["item_code"],
                "item_name": i["item_name"],
                "cases_365d": _int(i["cases_365d"]),
                "on_time_rate_365d": _num(i["on_time_rate_365d"]),
                "satisfied_share_365d": _num(i["satisfied_share_365d"]),
            }
            for i in items
        ],
        "demands_by_community": [
            {
                "community_code": d["community_code"],
                "demands": int(d["demands"] or 0),
                "demands_closed": int(d["demands_closed"] or 0),
                "avg_dispatch_to_close_hours": _num(d["avg_dispatch_to_close_hours"]),
            }
            for d in demands
        ],
    }


# -- resident once-only view ---------------------------------------------------------------------------------
def resident_view(reader: Reader, resident_key: str) -> dict[str, Any] | None:
    rows = _rows(
        reader,
        """select masked_name, source_system, source_table, service_kind, service_code, records, first_at, last_at
           from mart_residents.resident_services where resident_key = ?
           order by source_system, source_table, service_kind, service_code nulls first""",
        [resident_key],
    )
    if not rows:
        return None
    systems: dict[str, dict[str, Any]] = {}
    for r in rows:
        h = systems.setdefault(r["source_system"], {"system": r["source_system"], "tables": [], "records": 0})
        if r["source_table"] not in h["tables"]:
            h["tables"].append(r["source_table"])
        h["records"] += int(r["records"] or 0)
    return {
        "resident_key": resident_key,
        "masked_name": next((r["masked_name"] for r in rows if r["masked_name"]), None),
        "systems": list(systems.values()),
        "services": [
            {
                "system": r["source_system"],
                "service_kind": r["service_kind"],
                "service_code": r["service_code"],
                "records": int(r["records"] or 0),
                "first_at": _local(r["first_at"]),
                "last_at": _local(r["last_at"]),
            }
            for r in rows
        ],
    }


def has_table(reader: Reader, schema: str, table: str) -> bool:
    _, rows = reader.query(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    )
    return bool(rows and rows[0][0])
