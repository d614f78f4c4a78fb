"""The business view: the page an account manager, a sales head or an admin opens every morning.

Targets and completion per manager and team for the month or the quarter, payments received and due
(overdue first), renewals coming up, the ranking of managers, the deal funnel, brands by tier and the
inactive brands flagged for hand-over. One call to the brands API (``GET /business``), which answers
over the caller's scope (a manager their own brands, a head their teams', an admin all); the brand
list only adds the names of the brands the payments belong to.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from services.console.domain.brands import PERIODS, STAGE_LABELS, TIERS, funnel_chart, json_block
from services.console.entrypoints.http.brands import items_of, quietly
from services.console.entrypoints.http.deps import Page
from services.console.service_layer.ports import Api

__all__ = ["router"]

router = APIRouter()


@router.get("/business", response_class=HTMLResponse)
async def business_view(
    view: Page,
    period: Literal["month", "quarter"] = "month",
    at: Annotated[date | None, Query()] = None,
) -> HTMLResponse:
    figures, brands = await asyncio.gather(
        view.get(Api.BRANDS, "/business", period=period, at=at.isoformat() if at else None),
        quietly(view.get(Api.BRANDS, "/brands")),
    )
    shown = figures["period"]
    before = date.fromordinal(date.fromisoformat(str(shown["start"])).toordinal() - 1)
    after = date.fromordinal(date.fromisoformat(str(shown["end"])).toordinal() + 1)
    funnel = funnel_chart(figures.get("funnel") or [], {k: view.gettext(v) for k, v in STAGE_LABELS.items()})
    tiers = figures.get("tiers") or {}
    return view.render(
        "business/business.html",
        figures=figures,
        names=figures.get("names") or {},
        brand_names={b["id"]: b["name"] for b in items_of(brands)},
        period=period,
        periods=PERIODS,
        previous_at=before.isoformat(),
        next_at=after.isoformat(),
        funnel=funnel,
        funnel_json=json_block(funnel),
        tiers=[(tier, int(tiers.get(tier, 0))) for tier in TIERS],
        tier_total=sum(int(v) for v in tiers.values()),
    )
