"""The way in: ``/`` picks an account, ``/accounts/{appid}`` shows what is going on there."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.console.domain.navigation import admin_sections, business_sections, sections
from services.console.entrypoints.http.dashboards import DASHBOARD_TEXTS, overview_figures, range_choice, range_context
from services.console.entrypoints.http.deps import AccountPage, Page
from services.console.service_layer.ports import Api, ApiError, ApiUnavailable
from shared.identity import Permission

router = APIRouter()


@router.get("/", response_model=None)
async def home(view: Page) -> Response:
    for account in view.accounts():
        shown = sections(view.operator, account["appid"])
        if shown:
            return RedirectResponse(f"/accounts/{account['appid']}{shown[0].path}", status_code=303)
    # Account managers and sales heads work on brands, across accounts: the business view.
    business = business_sections(view.operator)
    if business:
        return RedirectResponse(business[0].path, status_code=303)
    admin = admin_sections(view.operator)
    if admin:
        return RedirectResponse(admin[0].path, status_code=303)
    return view.render("no_accounts.html")


async def _quietly(call: Awaitable[Any]) -> Any:
    """A tile's data, or None when its API refuses or is down: one slow service never blanks the page."""
    try:
        return await call
    except (ApiError, ApiUnavailable):
        return None


@router.get("/accounts/{appid}", response_class=HTMLResponse)
async def account_overview(
    view: AccountPage,
    start: Annotated[str, Query(alias="from", max_length=20)] = "",
    end: Annotated[str, Query(alias="to", max_length=20)] = "",
    preset: Annotated[str, Query(max_length=10)] = "",
) -> HTMLResponse:
    """The account's figures over a date range against the period before (analytics API), the active
    campaigns and the latest pushes; the member tiles load after the page."""
    base = view.account_path()
    choice = range_choice(start, end, preset)
    wanted: dict[str, Awaitable[Any]] = {}
    if view.may(Permission.CAMPAIGN_VIEW):
        # Newest first: the ones that ran in the range and the period before are among them.
        wanted["campaigns"] = view.get(Api.CAMPAIGNS, base + "/campaigns", limit=200)
    if view.may(Permission.PUSH_VIEW):
        wanted["pushes"] = view.get(Api.SEGMENTS, base + "/pushes")
    found = dict(zip(wanted, await asyncio.gather(*(_quietly(c) for c in wanted.values())), strict=True))
    campaigns = found.get("campaigns")
    if isinstance(campaigns, dict):
        campaigns = campaigns.get("items", [])
    figures = (
        await overview_figures(view, choice, campaigns) if view.may(Permission.STATS_VIEW) else {"analytics": None}
    )
    pushes = found.get("pushes") or []
    return view.render(
        "overview.html",
        **DASHBOARD_TEXTS,
        **figures,
        **range_context(choice),
        board_key="overview",
        active_campaigns=[c for c in campaigns or [] if c.get("status") == "active"],
        pushes=pushes[:5],
        unavailable=[name for name, value in found.items() if value is None],
    )


@router.get("/accounts/{appid}/overview/members", response_class=HTMLResponse)
async def overview_members(view: AccountPage) -> HTMLResponse:
    """The member tiles, loaded after the page: their counts take longest on a large account, and the
    page should not wait for them."""
    profiles = await _quietly(view.get(Api.PROFILES, view.account_path("/profiles/stats")))
    return view.render("partials/overview_members.html", profiles=profiles)


@router.get("/switch")
async def switch_account(view: Page, appid: str = "") -> Response:
    """The account switcher without JavaScript: the chosen account's first section."""
    known = {a["appid"] for a in view.accounts()}
    if appid not in known:
        return RedirectResponse("/", status_code=303)
    shown = sections(view.operator, appid)
    return RedirectResponse(f"/accounts/{appid}{shown[0].path if shown else ''}", status_code=303)
