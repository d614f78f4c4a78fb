"""The dashboard routes: every one needs ``stats:view`` on the account and takes ``from``/``to``
(Beijing days, both included; the last 30 days by default) and ``format=csv``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from services.analytics.domain.dashboards import csv_document
from services.analytics.entrypoints.http.deps import AppId, DashboardsDep, Days, Format, ItemId, Today
from services.analytics.entrypoints.http.schemas import (
    CampaignDashboard,
    CampaignList,
    Overview,
    ProjectDashboard,
    PushDashboard,
    PushList,
    Screenshots,
)
from services.analytics.service_layer.dashboards import Dashboard
from shared.identity import Permission, require
from shared.web import csv_response

__all__ = ["DESCRIPTION", "TAG", "router"]

TAG = "dashboards"
DESCRIPTION = (
    "Figures over a range of Beijing days with the period before it, from the daily rollups. "
    "`?format=csv` downloads the same figures (UTF-8 with a byte order mark, for Excel)."
)

router = APIRouter(
    prefix="/accounts/{appid}/dashboards",
    tags=[TAG],
    dependencies=[Depends(require(Permission.STATS_VIEW))],
)

#: Pushes per page of the list, unless ``limit`` says otherwise (a CSV holds every one).
DEFAULT_PUSHES = 100


def _documented(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """The answer's JSON shape (``schemas``) and its CSV alternative, for ``/docs``."""
    description = "The dashboard (JSON), or its CSV with `format=csv`"
    return {200: {"model": model, "content": {"text/csv": {}}, "description": description}}


def _answer(dashboard: Dashboard, appid: str, days: Days, format_: str) -> Response:
    if format_ == "csv":
        filename = f"{dashboard.name}_{appid}_{days.first}_{days.last}.csv"
        return csv_response(csv_document(dashboard.tables), filename)
    return JSONResponse(dashboard.body)


@router.get(
    "/overview", summary="Followers gained and lost, sources, pushes, value delivered", responses=_documented(Overview)
)
async def overview(
    appid: AppId, days: Days, today: Today, dashboards: DashboardsDep, format: Format = "json"
) -> Response:
    return _answer(await dashboards.overview(appid, days, today), appid, days, format)


@router.get("/campaigns", summary="Every campaign's totals in the range", responses=_documented(CampaignList))
async def campaigns(appid: AppId, days: Days, dashboards: DashboardsDep, format: Format = "json") -> Response:
    return _answer(await dashboards.campaigns(appid, days), appid, days, format)


@router.get(
    "/campaigns/{campaign_id}",
    summary="A campaign's referral funnel and invitee retention",
    responses=_documented(CampaignDashboard),
)
async def campaign(
    appid: AppId, campaign_id: ItemId, days: Days, today: Today, dashboards: DashboardsDep, format: Format = "json"
) -> Response:
    return _answer(await dashboards.campaign(appid, campaign_id, days, today), appid, days, format)


@router.get(
    "/screenshots", summary="Screenshot decisions, reasons and review waits", responses=_documented(Screenshots)
)
async def screenshots(appid: AppId, days: Days, dashboards: DashboardsDep, format: Format = "json") -> Response:
    return _answer(await dashboards.screenshots(appid, days), appid, days, format)


@router.get(
    "/pushes", summary="Every push's deliveries, failures, clicks and variants", responses=_documented(PushList)
)
async def pushes(
    appid: AppId,
    days: Days,
    dashboards: DashboardsDep,
    format: Format = "json",
    limit: Annotated[
        int | None, Query(ge=1, le=5_000, description="pushes per page: default 100 (JSON), every one (CSV)")
    ] = None,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> Response:
    if limit is None and format == "json":
        limit = DEFAULT_PUSHES
    return _answer(await dashboards.pushes(appid, days, limit=limit, offset=offset), appid, days, format)


@router.get("/pushes/{push_id}", summary="One push per variant and day", responses=_documented(PushDashboard))
async def push(
    appid: AppId, push_id: ItemId, days: Days, dashboards: DashboardsDep, format: Format = "json"
) -> Response:
    return _answer(await dashboards.push(appid, push_id, days), appid, days, format)


@router.get(
    "/projects/{project_id}",
    summary="A brand project's deliveries and clicks by segment and push",
    responses=_documented(ProjectDashboard),
)
async def project(
    appid: AppId, project_id: ItemId, days: Days, dashboards: DashboardsDep, format: Format = "json"
) -> Response:
    return _answer(await dashboards.project(appid, project_id, days), appid, days, format)
