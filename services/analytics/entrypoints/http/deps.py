"""What the dashboard routes are given: the dashboards over the running service, the day range the
query asks for, and path parameters."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError

from services.analytics.bootstrap_api import AnalyticsApi
from services.analytics.domain.dashboards import DayRange, RangeInvalid, beijing_today, resolve_range
from services.analytics.service_layer.dashboards import Dashboards
from shared.web import now, service_of

__all__ = ["AppId", "DashboardsDep", "Days", "Format", "ItemId", "Today"]

ID_PATTERN = r"^[A-Za-z0-9_-]+$"
_DAY_PATTERN = r"^\d{4}-\d{2}-\d{2}$"

AppId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
ItemId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
Format = Annotated[
    Literal["json", "csv"], Query(alias="format", description="`csv`: the same figures as a CSV download")
]


def _dashboards(request: Request) -> Dashboards:
    service: AnalyticsApi = service_of(request)
    return service.dashboards


def _today(request: Request) -> date:
    return beijing_today(now(request))


DashboardsDep = Annotated[Dashboards, Depends(_dashboards)]
Today = Annotated[date, Depends(_today)]


def _invalid(field: str, message: str, value: str | None) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": ("query", field), "msg": message, "input": value}])


def _day(field: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _invalid(field, "not a date (YYYY-MM-DD)", value) from None


def _days(
    today: Today,
    start: Annotated[
        str | None,
        Query(
            alias="from",
            pattern=_DAY_PATTERN,
            description="First day (Beijing, YYYY-MM-DD); default 29 days before `to`",
        ),
    ] = None,
    end: Annotated[
        str | None, Query(alias="to", pattern=_DAY_PATTERN, description="Last day, included (Beijing); default today")
    ] = None,
) -> DayRange:
    try:
        return resolve_range(_day("from", start), _day("to", end), today)
    except RangeInvalid as exc:
        raise _invalid(exc.field, str(exc), start if exc.field == "from" else end) from None


Days = Annotated[DayRange, Depends(_days)]
