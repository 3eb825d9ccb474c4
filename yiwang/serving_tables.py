"""The API's lookup tables (schema ``serving``), written by every publish from the public marts it publishes.

A dashboard answer was computed from several marts per request (a community's: four queries), and a catalog page
sorted the catalog's 33 served columns to keep 20 rows, which is what kept computed answers slow while a build
ran (bench/README.md). So the publish, in its own transaction, writes one row per community, per grid and per
catalog item holding the marts' rows its answer is computed from (``parts``, JSON text: figures as published,
nothing suppressed yet); a request reads rows by key (a catalog search: by the filter columns, kept beside
``parts``), and serving/queries.py applies small-cell suppression (its k is the API's setting, not the publish's)
and shapes the answer as before.

| table | key | beside parts | parts |
|---|---|---|---|
| ``serving.community_dashboard_parts`` | ``community_code`` | | ``months``, ``party``, ``demands``, ``complaints`` |
| ``serving.grid_dashboard_parts`` | ``grid_code`` | | ``months`` |
| ``serving.catalog_item_parts`` | ``item_code`` | what catalog search filters on | the item's served columns |

The publish (every key at once) and the API's fallback (one key, for a snapshot published before these tables or
a PostgreSQL role not granted them) take the rows from the same SQL below, so the two cannot drift apart; the
serving tests compare them for every community and grid. On DuckDB the tables go into the read snapshot with the
marts (yiwang.snapshot); on PostgreSQL they are in the warehouse, swapped in the publish transaction like the
marts (delete + insert, keeping grants). They are not marts: ``yiwang access sync`` leaves them alone (readers get
nothing on ``serving``); the API's role needs USAGE on the schema and SELECT on them (docs/serving.md).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import pyarrow as pa

from yiwang.warehouse import Tx, qident, qname

SCHEMA = "serving"
COMMUNITY_PARTS = "community_dashboard_parts"
GRID_PARTS = "grid_dashboard_parts"
CATALOG_PARTS = "catalog_item_parts"
# catalog search filters on these (serving.queries.CatalogQuery) and sorts on item_code: kept as columns
CATALOG_FILTERS = (
    "item_kind",
    "item_name",
    "item_type",
    "department_uscc",
    "department_name",
    "community_names",
)
TABLES = {  # table -> its columns before ``parts`` (the key first), all text
    COMMUNITY_PARTS: ("community_code",),
    GRID_PARTS: ("grid_code",),
    CATALOG_PARTS: ("item_code", *CATALOG_FILTERS),
}

# query(sql, params) -> rows as tuples, in the order of the select list (a warehouse Tx's, or the API's reader)
Query = Callable[[str, Sequence[Any]], Sequence[Sequence[Any]]]
Parts = dict[str, Any]

EVENT_COLUMNS = (
    "month_start",
    "events",
    "closed_events",
    "on_time_events",
    "overdue_events",
    "on_time_rate",
    "evaluated_events",
    "satisfaction_rate",
    "avg_hours_to_close",
)
_MONTHS = ("community_name", "street_code", "street_name", *EVENT_COLUMNS)
_PARTY = ("community_name", "street_code", "in_service_members", "members_checked_in", "check_in_rate")
_DEMANDS = {
    c: f"sum({c})"
    for c in (
        "demands",
        "demands_multi_channel",
        "demands_repeated",
        "demands_closed",
        "demands_rated",
        "demands_satisfied",
    )
}
_COMPLAINTS = {
    "year": "year",
    "estates": "count(*)",
    "households": "sum(households)",
    "complaints": "sum(complaints)",
    "estates_with_joint_mechanism": "sum(case when has_joint_mechanism then 1 else 0 end)",
    "households_with": "sum(case when has_joint_mechanism and households > 0 then households end)",
    "complaints_with": "sum(case when has_joint_mechanism and households > 0 then complaints end)",
    "households_without": "sum(case when not has_joint_mechanism and households > 0 then households end)",
    "complaints_without": "sum(case when not has_joint_mechanism and households > 0 then complaints end)",
}
_GRID_MONTHS = ("grid_name", "community_code", "community_name", "street_code", "street_name", *EVENT_COLUMNS)
# what a catalog answer shows of an item (serving.queries.catalog_item)
CATALOG_COLUMNS = (
    "item_code", "item_kind", "item_name", "item_type", "department_uscc", "department_name", "provider_name",
    "level", "promised_limit_days", "handling_type", "online_level", "max_visits", "bookable_online",
    "community_names", "as_of_date",
    "cases_30d", "on_time_cases_30d", "overdue_cases_30d", "on_time_rate_30d", "median_handling_working_days_30d",
    "orders_30d", "ratings_30d", "satisfied_share_30d", "mean_rating_30d",
    "cases_365d", "on_time_cases_365d", "overdue_cases_365d", "on_time_rate_365d",
    "median_handling_working_days_365d", "orders_365d", "ratings_365d", "satisfied_share_365d", "mean_rating_365d",
)  # fmt: skip


def _select(query: Query, key: str, columns: dict[str, str], sql_tail: str, params: list[Any]) -> list[tuple]:
    """(key, row dict) per row of ``select key, <columns> <sql_tail>``."""
    listed = ", ".join(f"{expr} as {name}" if expr != name else name for name, expr in columns.items())
    names = list(columns)
    return [
        (r[0], dict(zip(names, r[1:], strict=True)))
        for r in query(f"select {key}, {listed} {sql_tail}", params)
    ]


def _plain(columns: Sequence[str]) -> dict[str, str]:
    return {c: c for c in columns}


def community_parts(query: Query, community_code: str | None = None) -> dict[str, Parts]:
    """What each community's dashboard is computed from, by community code: every community with events or a
    Party check-in row (``community_code`` None), or that one community (absent when it has neither)."""
    one = community_code is not None
    where, params = ("community_code = ?", [community_code]) if one else ("community_code is not null", [])
    found: dict[str, Parts] = {}
    for code, row in _select(
        query,
        "community_code",
        _plain(_MONTHS),
        f"from mart_governance.governance_by_community_month where {where} order by community_code, month_start",
        params,
    ):
        found.setdefault(code, _empty())["months"].append(row)
    for code, row in _select(
        query,
        "community_code",
        _plain(_PARTY),
        f"from mart_party.party_check_in_rate_by_community where {where} order by community_code",
        params,
    ):
        found.setdefault(code, _empty())["party"].append(row)
    for code, row in _select(
        query,
        "community_code",
        _DEMANDS,
        f"from mart_demands.demands_by_department_community where {where} group by community_code",
        params,
    ):
        if code in found and row["demands"] is not None:
            found[code]["demands"] = row
    # property estates name their community (所属社区), they carry no code: matched by the dashboard's name
    names: dict[str, list[str]] = {}
    for code, parts in found.items():
        name = (parts["months"][-1] if parts["months"] else parts["party"][0])["community_name"]
        if name is not None:
            names.setdefault(name, []).append(code)
    if one and not names:
        return found
    where, params = ("community_text = ?", list(names)) if one else ("community_text is not null", [])
    for name, row in _select(
        query,
        "community_text",
        _COMPLAINTS,
        f"from mart_property.property_estate_yearly where {where} group by community_text, year"
        " order by community_text, year",
        params,
    ):
        for code in names.get(name, ()):
            found[code]["complaints"].append(row)
    return found


def _empty() -> Parts:
    return {"months": [], "party": [], "demands": None, "complaints": []}


def grid_parts(query: Query, grid_code: str | None = None) -> dict[str, Parts]:
    """What each grid's dashboard is computed from (its months), by grid code: every grid, or that one."""
    where, params = ("grid_code = ?", [grid_code]) if grid_code is not None else ("grid_code is not null", [])
    found: dict[str, Parts] = {}
    for code, row in _select(
        query,
        "grid_code",
        _plain(_GRID_MONTHS),
        f"from mart_governance.governance_by_grid_month where {where} order by grid_code, month_start",
        params,
    ):
        found.setdefault(code, {"months": []})["months"].append(row)
    return found


def catalog_parts(query: Query) -> dict[str, Parts]:
    """Every catalog item's served columns (the parts) and its filter columns, by item code."""
    rows = _select(
        query,
        "item_code",
        _plain(CATALOG_COLUMNS),
        "from mart_catalog.service_catalog where item_code is not null",
        [],
    )
    return {code: row for code, row in rows}


def _json_value(v: Any) -> Any:
    if isinstance(v, Decimal):  # PostgreSQL numeric: the float the API would make of it
        return float(v)
    if isinstance(v, dt.date | dt.datetime):
        return v.isoformat()
    raise TypeError(f"no JSON for {type(v).__name__}")


def dumps(parts: Parts) -> str:
    return json.dumps(parts, default=_json_value, ensure_ascii=False, separators=(",", ":"))


# the columns each lookup table reads of its marts: a publish whose marts lack one (a project publishing marts of
# another shape) drops that lookup table instead of failing, and the API reads the marts
READS = {
    COMMUNITY_PARTS: {
        ("mart_governance", "governance_by_community_month"): {"community_code", *_MONTHS},
        ("mart_party", "party_check_in_rate_by_community"): {"community_code", *_PARTY},
        ("mart_demands", "demands_by_department_community"): {"community_code", *_DEMANDS},
        ("mart_property", "property_estate_yearly"): {
            "community_text",
            "year",
            "households",
            "complaints",
            "has_joint_mechanism",
        },
    },
    GRID_PARTS: {("mart_governance", "governance_by_grid_month"): {"grid_code", *_GRID_MONTHS}},
    CATALOG_PARTS: {("mart_catalog", "service_catalog"): set(CATALOG_COLUMNS)},
}


SOURCES = {
    table: tuple(marts) for table, marts in READS.items()
}  # table -> the public marts it is computed from


def _complete(tx: Tx, table: str) -> bool:
    """Every mart ``table`` is computed from is public, with every column it reads."""
    return all(
        tx.table_exists(s, t) and cols <= {c.lower() for c in tx.columns(s, t)}
        for (s, t), cols in READS[table].items()
    )


def write(tx: Tx) -> dict[str, int]:
    """Replace the rows of every lookup table inside the publish transaction ``tx`` (yiwang.warehouse.Tx), from
    the public marts as that transaction sees them. Returns rows per table written (``serving.<table>``). A table
    whose marts are not all public (a city publishing only some marts) is dropped instead: the API then reads the
    marts, as before these tables; so is one whose marts lack a column it reads (READS)."""
    query: Query = tx.query
    build = {COMMUNITY_PARTS: community_parts, GRID_PARTS: grid_parts, CATALOG_PARTS: catalog_parts}
    tx.execute(f"create schema if not exists {qident(SCHEMA)}")
    counts: dict[str, int] = {}
    for table, (key, *beside) in TABLES.items():
        dst = qname(SCHEMA, table)
        complete = _complete(tx, table)
        if tx.table_exists(SCHEMA, table) and (
            not complete or tx.columns(SCHEMA, table) != [key, *beside, "parts"]
        ):
            tx.execute(f"drop table {dst}")
        if not complete:
            continue
        primary = " primary key" if tx.dialect == "postgres" else ""  # the snapshot copy is scanned anyway
        columns = "".join(f", {qident(c)} varchar" for c in beside)
        tx.execute(
            f"create table if not exists {dst} ({qident(key)} varchar not null{primary}{columns},"
            " parts varchar not null)"
        )
        tx.execute(f"delete from {dst}")
        rows = build[table](query)
        if rows:
            data = {key: list(rows), **{c: [p[c] for p in rows.values()] for c in beside}}
            data["parts"] = [dumps(p) for p in rows.values()]
            tx.insert_arrow(dst, pa.table({c: pa.array(v, pa.string()) for c, v in data.items()}))
        counts[f"{SCHEMA}.{table}"] = len(rows)
    return counts
