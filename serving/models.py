"""Response models: every field the API may answer, and nothing else (``extra="forbid"``; FastAPI's
``response_model`` drops whatever a query returns beyond them).

Public aggregates carry ``suppressed``: true when small-cell suppression (YIWANG_SERVING_MIN_CELL, k) set one or
more of the row's counts, or a rate computed from fewer than k cases, to null.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- errors: one body shape for every status ----------------------------------------------------------------
class FieldProblem(Strict):
    where: str = Field(description="Which parameter (e.g. query.limit).")
    problem: str


class ErrorDetail(Strict):
    status: int
    code: str = Field(description="Machine-readable: bad_request, unauthorized, forbidden, not_found, ...")
    message: str
    request_id: str
    problems: list[FieldProblem] = Field(default_factory=list, description="Per-parameter problems (422).")


class ErrorBody(Strict):
    error: ErrorDetail


class Health(Strict):
    status: Literal["ok"]
    published: bool = Field(description="A build has been published (the marts are readable).")


# -- catalog -------------------------------------------------------------------------------------------------
class ItemFigures(Strict):
    """Rolling-window figures of an item (suppressed below k)."""

    window_days: int
    cases: int | None = Field(None, description="Government items: cases accepted in the window.")
    on_time_rate: float | None = None
    median_handling_working_days: float | None = None
    orders: int | None = Field(None, description="Life items: service orders placed in the window.")
    ratings: int | None = None
    satisfied_share: float | None = None
    mean_rating: float | None = None
    suppressed: bool = False


class CatalogItem(Strict):
    item_code: str
    item_kind: Literal["government", "life"]
    item_name: str | None
    category: str | None = Field(description="事项类型 of a government item, the life-service category.")
    department_uscc: str | None
    department_name: str | None
    provider_name: str | None
    level: str | None
    promised_limit_days: int | None
    handling_type: str | None
    online_level: str | None
    max_visits: int | None
    bookable_online: bool | None
    communities: list[str] = Field(description="Communities whose service sites offer a life item.")
    as_of_date: dt.date | None
    figures_30d: ItemFigures
    figures_365d: ItemFigures


class CatalogPage(Strict):
    items: list[CatalogItem]
    limit: int
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class ItemPeriod(Strict):
    period_type: Literal["month", "quarter", "year"]
    period_start: dt.date
    period_end: dt.date
    cases: int | None
    on_time_rate: float | None
    median_handling_working_days: float | None
    is_period_closed: bool | None
    figures_final: bool | None
    suppressed: bool


class ItemDetail(Strict):
    item: CatalogItem
    periods: list[ItemPeriod] = Field(
        description="Government items: figures by calendar period, oldest first."
    )


# -- dashboards (public aggregates, suppressed below k) ------------------------------------------------------
class EventsMonth(Strict):
    month: dt.date
    events: int | None
    closed_events: int | None
    on_time_rate: float | None
    satisfaction_rate: float | None
    avg_hours_to_close: float | None
    suppressed: bool


class GridDashboard(Strict):
    grid_code: str
    grid_name: str | None
    community_code: str | None
    community_name: str | None
    street_code: str | None
    street_name: str | None
    months: list[EventsMonth]


class DemandSummary(Strict):
    demands: int | None
    demands_multi_channel: int | None
    demands_repeated: int | None
    demands_closed: int | None
    satisfied_share: float | None = Field(
        description="Rated demands without a 不满意 rating / rated demands."
    )
    suppressed: bool


class ComplaintsYear(Strict):
    year: int
    estates: int
    households: int | None
    complaints: int | None
    complaints_per_100_households: float | None
    estates_with_joint_mechanism: int
    complaints_per_100_households_with_mechanism: float | None = Field(
        description="Estates with the joint mechanism (党组织 + 业委会 + 物业) that year, known households only."
    )
    complaints_per_100_households_without_mechanism: float | None = Field(
        description="Estates without the joint mechanism that year (before it was set up, or never)."
    )
    suppressed: bool


class PartyCheckIn(Strict):
    in_service_members: int | None
    members_checked_in: int | None
    check_in_rate: float | None
    suppressed: bool


class CommunityDashboard(Strict):
    community_code: str
    community_name: str | None
    street_code: str | None
    street_name: str | None
    months: list[EventsMonth]
    demands: DemandSummary | None
    complaints: list[ComplaintsYear] = Field(
        description="Property complaints of the community's estates, by year."
    )
    party_check_in: PartyCheckIn | None


class GridEntry(Strict):
    grid_code: str
    grid_name: str | None


class CommunityEntry(Strict):
    community_code: str
    community_name: str | None
    street_code: str | None
    street_name: str | None
    grids: list[GridEntry] = Field(description="The community's grids (网格) with events.")


class CommunityIndex(Strict):
    communities: list[CommunityEntry]


# -- department performance (API key, scope departments:read, own department) --------------------------------
class DepartmentItem(Strict):
    item_code: str
    item_name: str | None
    cases_365d: int | None
    on_time_rate_365d: float | None
    satisfied_share_365d: float | None


class DepartmentDemands(Strict):
    community_code: str | None
    demands: int
    demands_closed: int
    avg_dispatch_to_close_hours: float | None


class DepartmentPerformance(Strict):
    department_uscc: str
    department_name: str | None
    events_by_month: list[EventsMonth]
    items: list[DepartmentItem]
    demands_by_community: list[DepartmentDemands]


# -- resident once-only view (API key, scope residents:read) -------------------------------------------------
class SystemHolding(Strict):
    system: str
    tables: list[str]
    records: int


class ServiceUse(Strict):
    system: str
    service_kind: str
    service_code: str | None
    records: int
    first_at: dt.datetime | None = Field(description="Earliest record time (local time, +08:00).")
    last_at: dt.datetime | None = Field(description="Latest record time (local time, +08:00).")


class ResidentView(Strict):
    resident_key: str
    masked_name: str | None = Field(description="First character and * (张*); never the name.")
    systems: list[SystemHolding]
    services: list[ServiceUse]
