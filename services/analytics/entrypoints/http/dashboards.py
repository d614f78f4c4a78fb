"""The dashboard routes: every one needs ``stats:view`` on the account and takes ``from``/``to``
(Beijing days, both included; the last 30 days by default) and ``format=csv``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from services.analytics.domain.dashboards import csv_document
from services.analytics.entrypoints.http.deps import AppId, DashboardsDep, Days, Format, ItemId, Today
from services.analytics.service_layer.dashboards import Dashboard
from shared.identity import Permission, require

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

_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "The dashboard (JSON), or its CSV with `format=csv`"}
}


def _answer(dashboard: Dashboard, appid: str, days: Days, format_: str) -> Response:
    if format_ == "csv":
        filename = f"{dashboard.name}_{appid}_{days.first}_{days.last}.csv"
        return Response(
            csv_document(dashboard.tables).encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return JSONResponse(dashboard.body)


@router.get("/overview", summary="Followers gained and lost, sources, pushes, value delivered", responses=_CSV)
async def overview(
    appid: AppId, days: Days, today: Today, dashboards: DashboardsDep, format: Format = "json"
) -> Response:
    return _answer(await dashboards.overview(appid, days, today), appid, days, format)


@router.get("/campaigns", summary="Every campaign's totals in the range", responses=_CSV)
async def campaigns(appid: AppId, days: Days, dashboards: DashboardsDep, format: Format = "json") -> Response:
    return _answer(await dashboards.campaigns(appid, days), appid, days, format)


@router.get("/campaigns/{campaign_id}", summary="A campaign's referral funnel and invitee retention", responses=_CSV)
async def campaign(
    appid: AppId, campaign_id: ItemId, days: Days, today: Today, dashboards: DashboardsDep, format: Format = "json"
) -> Response:
    return _answer(await dashboards.campaign(appid, campaign_id, days, today), appid, days, format)


@router.get("/screenshots", summary="Screenshot decisions, reasons and review waits", responses=_CSV)
async def screenshots(appid: AppId, days: Days, dashboards: DashboardsDep, format: Format = "json") -> Response:
    return _answer(await dashboards.screenshots(appid, days), appid, days, format)


@router.get("/pushes", summary="Every push's deliveries, failures, clicks and variants", responses=_CSV)
async def pushes(appid: AppId, days: Days, dashboards: DashboardsDep, format: Format = "json") -> Response:
    return _answer(await dashboards.pushes(appid, days), appid, days, format)


@router.get("/pushes/{push_id}", summary="One push per variant and day", responses=_CSV)
async def push(
    appid: AppId, push_id: ItemId, days: Days, dashboards: DashboardsDep, format: Format = "json"
) -> Response:
    return _answer(await dashboards.push(appid, push_id, days), appid, days, format)


@router.get(
    "/projects/{project_id}", summary="A brand project's deliveries and clicks by segment and push", responses=_CSV
)
async def project(
    appid: AppId, project_id: ItemId, days: Days, dashboards: DashboardsDep, format: Format = "json"
) -> Response:
    return _answer(await dashboards.project(appid, project_id, days), appid, days, format)
