"""The analytics dashboards: the account overview's figures, campaign funnels, screenshot decisions and
push results, each over a chosen date range compared with the period before it, with its data as CSV.

Figures come from the analytics API (``/accounts/{appid}/dashboards/...``, ``stats:view``), which
answers from daily rollups and returns ids; names come from the campaigns and segments APIs, each
fetched quietly (without them the page shows ids). Charts are drawn by ``static/dashboards.js`` from
the page's JSON block.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, Response

from services.console.domain import dashboards as board
from services.console.domain.dashboards import DateRange, RangeChoice, change, choose_range, rate
from services.console.domain.formatting import BEIJING, parse_time
from services.console.domain.messages import N_
from services.console.domain.pushes import ERRCODES
from services.console.entrypoints.http.deps import AccountPage, View
from services.console.service_layer.ports import Api, ApiError, ApiUnavailable
from shared.identity import Permission

__all__ = ["DASHBOARD_TEXTS", "overview_figures", "range_choice", "range_context", "router"]

router = APIRouter()

BASE = "/accounts/{appid}/dashboards"
_ID = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,128}$")]
DASHBOARD_TEXTS = {
    "PRESETS": board.PRESETS,
    "SOURCE_LABELS": board.SOURCE_LABELS,
    "FUNNEL_STEPS": board.FUNNEL_STEPS,
    "SCREENSHOT_OUTCOMES": board.SCREENSHOT_OUTCOMES,
    "WAIT_BUCKETS": board.WAIT_BUCKETS,
    "ERRCODES": ERRCODES,
}

From = Annotated[str, Query(alias="from", max_length=20)]
To = Annotated[str, Query(max_length=20)]
Preset = Annotated[str, Query(max_length=10)]


def range_choice(view: View, start: str, end: str, preset: str) -> RangeChoice:
    return choose_range(start, end, preset, board.beijing_today(datetime.now(UTC)))


async def _quietly(call: Awaitable[Any]) -> Any:
    try:
        return await call
    except (ApiError, ApiUnavailable):
        return None


def _api_path(view: View, suffix: str) -> str:
    return view.account_path("/dashboards" + suffix)


async def _figures(view: View, suffix: str, chosen: DateRange, **params: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The dashboard for the range and for the period before it (its daily series are drawn dashed)."""
    path = _api_path(view, suffix)
    current, previous = await asyncio.gather(
        view.get(Api.ANALYTICS, path, **chosen.params(), **params),
        view.get(Api.ANALYTICS, path, **chosen.previous().params(), **params),
    )
    return dict(current or {}), dict(previous or {})


def range_context(choice: RangeChoice) -> dict[str, Any]:
    """What the range control shows (``range_errors`` hold message ids: the template translates them)."""
    return {
        "choice": choice,
        "previous": choice.range.previous(),
        "range_errors": dict(choice.errors),
        "today": board.beijing_today(datetime.now(UTC)).isoformat(),
    }


def _render(view: View, template: str, choice: RangeChoice, **extra: Any) -> HTMLResponse:
    return view.render(template, **DASHBOARD_TEXTS, **range_context(choice), **extra)


def _totals(body: Mapping[str, Any]) -> dict[str, Any]:
    return dict(body.get("totals") or {})


def _daily(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(body.get("daily") or [])


def _previous_label(view: View) -> str:
    return view.gettext("%(name)s (previous period)")


# -- CSV: the analytics API's own export, passed through --------------------------------------------

_SINGULAR = {"campaigns": "campaign", "pushes": "push"}


async def _csv(view: View, suffix: str, name: str, choice: RangeChoice, chart: str) -> Response:
    """``chart`` narrows the export to one chart's figures where the API offers that."""
    reply = await view.call(
        Api.ANALYTICS, "GET", _api_path(view, suffix), params={**choice.range.params(), "format": "csv", "chart": chart}
    )
    filename = f"{name}-{choice.range.start.isoformat()}-{choice.range.end.isoformat()}.csv"
    disposition = reply.headers.get("content-disposition") or f'attachment; filename="{filename}"'
    return Response(reply.content, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition})


def _export(name: str) -> None:
    async def export(
        view: AccountPage, start: From = "", end: To = "", preset: Preset = "", chart: str = ""
    ) -> Response:
        return await _csv(view, f"/{name}", name, range_choice(view, start, end, preset), chart)

    export.__doc__ = f"The {name} dashboard's figures as CSV (the API's ``?format=csv``: UTF-8 with BOM)."
    router.add_api_route(f"{BASE}/{name}.csv", export, methods=["GET"], response_model=None, name=f"export_{name}")


def _export_one(name: str, param: str) -> None:
    async def export(
        view: AccountPage, item_id: _ID, start: From = "", end: To = "", preset: Preset = "", chart: str = ""
    ) -> Response:
        choice = range_choice(view, start, end, preset)
        return await _csv(view, f"/{name}/{item_id}", f"{_SINGULAR[name]}-{item_id}", choice, chart)

    router.add_api_route(
        f"{BASE}/{name}/{{item_id}}/export.csv", export, methods=["GET"], response_model=None, name=f"export_{param}"
    )


for _name in ("overview", "campaigns", "screenshots", "pushes"):
    _export(_name)
_export_one("campaigns", "campaign")
_export_one("pushes", "push")


# -- the overview (its page is overview.py's, which adds campaigns, pushes and member tiles) ----------


def _running(campaign: Mapping[str, Any], chosen: DateRange) -> bool:
    """Whether the campaign ran on some day of the range (Beijing days; a draft never ran)."""
    if campaign.get("status") == "draft":
        return False
    starts, ends = parse_time(campaign.get("starts_at")), parse_time(campaign.get("ends_at"))
    first = starts.astimezone(BEIJING).date() if starts else date.min
    last = ends.astimezone(BEIJING).date() if ends else date.max
    return first <= chosen.end and last >= chosen.start


async def overview_figures(view: View, choice: RangeChoice, campaigns: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The overview's tiles and charts; ``unavailable`` when the analytics API refused or is down."""
    chosen = choice.range
    try:
        current, before = await _figures(view, "/overview", chosen)
    except (ApiError, ApiUnavailable) as exc:
        return {"analytics": None, "analytics_problem": view.error(exc) if isinstance(exc, ApiError) else str(exc)}
    totals, previous = _totals(current), _totals(before)
    net, previous_net = _net(totals), _net(previous)
    month = dict(current.get("month") or {})
    previous_month = dict(month.get("previous") or {})
    tiles = [
        _tile(view, "follows", N_("Followers gained"), change(totals.get("follows"), previous.get("follows"))),
        _tile(
            view,
            "unfollows",
            N_("Followers lost"),
            change(totals.get("unfollows"), previous.get("unfollows")),
            good="down",
        ),
        _tile(view, "net", N_("Net followers"), change(net, previous_net)),
    ]
    if campaigns is not None:
        running = sum(_running(c, chosen) for c in campaigns)
        earlier = sum(_running(c, chosen.previous()) for c in campaigns)
        tiles.append(_tile(view, "campaigns", N_("Campaigns running"), change(running, earlier)))
    tiles += [
        _tile(
            view,
            "pushes",
            N_("Pushes delivered"),
            change(totals.get("pushes_delivered"), previous.get("pushes_delivered")),
        ),
        _tile(
            view,
            "value",
            N_("Value delivered this month"),
            change(month.get("project_delivered"), previous_month.get("project_delivered")),
            hint=view.gettext("Deliveries of pushes linked to a brand project"),
        ),
    ]
    daily, previous_daily = _daily(current), _daily(before)
    for row in (*daily, *previous_daily):
        row.setdefault("net", _net(row))
    sources = _sources(current)
    previous_sources = _sources(before)
    keys = [k for k in board.SOURCE_LABELS if k in sources or k in previous_sources]
    keys += sorted(k for k in {*sources, *previous_sources} if k not in keys)
    source_rows = [
        {
            "key": k,
            "label": view.gettext(board.SOURCE_LABELS.get(k, k)),
            "change": change(sources.get(k, 0), previous_sources.get(k, 0)),
            "share": rate(sources.get(k, 0), sum(sources.values())),
        }
        for k in keys
    ]
    label = _previous_label(view)
    charts = {
        "followers": board.daily_chart(
            "line",
            chosen,
            daily,
            previous_daily,
            [("follows", view.gettext("Followers gained")), ("unfollows", view.gettext("Followers lost"))],
            previous_label=label,
        ),
        "net": board.daily_chart("bar", chosen, daily, None, [("net", view.gettext("Net followers"))]),
        "sources": board.chart(
            "bar",
            [row["label"] for row in source_rows],
            [
                board.series(view.gettext("This period"), [row["change"].value for row in source_rows], colour=0),
                board.series(
                    view.gettext("Previous period"), [row["change"].previous for row in source_rows], colour=7
                ),
            ],
        ),
        "pushes": board.daily_chart(
            "bar",
            chosen,
            daily,
            previous_daily,
            [("pushes_delivered", view.gettext("Pushes delivered"))],
            previous_label=label,
        ),
    }
    return {
        "analytics": current,
        "tiles": tiles,
        "charts": charts,
        "source_rows": source_rows,
        "month": month,
        "has_follows": board.has_any(daily, ("follows", "unfollows")),
        "has_pushes": board.has_any(daily, ("pushes_delivered",)),
        "has_sources": any(row["change"].value or row["change"].previous for row in source_rows),
    }


def _net(row: Mapping[str, Any]) -> int:
    if isinstance(row.get("net"), int):
        return int(row["net"])
    return int(row.get("follows") or 0) - int(row.get("unfollows") or 0)


def _sources(body: Mapping[str, Any]) -> dict[str, int]:
    found = body.get("follows_by_source") or body.get("sources") or {}
    return {str(k): int(v) for k, v in dict(found).items()}


def _tile(
    view: View, key: str, label: str, figure: board.Change, *, good: str = "up", hint: str = ""
) -> dict[str, Any]:
    return {"key": key, "label": view.gettext(label), "change": figure, "good": good, "hint": hint}


# -- campaigns ----------------------------------------------------------------------------------------


async def _campaign_names(view: View) -> dict[str, dict[str, Any]]:
    found = await _quietly(view.get(Api.CAMPAIGNS, view.account_path("/campaigns"), limit=200))
    items = found.get("items", []) if isinstance(found, dict) else (found or [])
    return {c["id"]: c for c in items}


@router.get(BASE + "/campaigns", response_class=HTMLResponse)
async def campaigns_board(view: AccountPage, start: From = "", end: To = "", preset: Preset = "") -> HTMLResponse:
    choice = range_choice(view, start, end, preset)
    (current, before), names = await asyncio.gather(_figures(view, "/campaigns", choice.range), _campaign_names(view))
    previous = {row.get("campaign_id"): row for row in before.get("campaigns") or []}
    rows = []
    for row in current.get("campaigns") or []:
        earlier = previous.get(row.get("campaign_id"), {})
        campaign = names.get(row.get("campaign_id", ""), {})
        rows.append(
            {
                **row,
                "name": campaign.get("name") or row.get("campaign_id"),
                "status": campaign.get("status"),
                "credited": change(row.get("credited"), earlier.get("credited", 0)),
                "scan_rate": rate(row.get("poster_scans"), row.get("poster_sent")),
            }
        )
    return _render(view, "dashboards/campaigns.html", choice, rows=rows, board_key="campaigns")


@router.get(BASE + "/campaigns/{campaign_id}", response_class=HTMLResponse)
async def campaign_board(
    view: AccountPage, campaign_id: _ID, start: From = "", end: To = "", preset: Preset = ""
) -> HTMLResponse:
    choice = range_choice(view, start, end, preset)
    chosen = choice.range
    (current, before), campaign = await asyncio.gather(
        _figures(view, f"/campaigns/{campaign_id}", chosen),
        _quietly(view.get(Api.CAMPAIGNS, view.account_path(f"/campaigns/{campaign_id}"))),
    )
    totals, previous = _totals(current), _totals(before)
    steps = []
    for step in current.get("funnel") or []:
        key = step.get("step", "")
        steps.append(
            {
                "key": key,
                "label": view.gettext(board.FUNNEL_STEPS.get(key, key)),
                "change": change(step.get("count"), _step_count(before, key)),
                "conversion": step.get("conversion"),
            }
        )
    daily, previous_daily = _daily(current), _daily(before)
    label = _previous_label(view)
    tiers = sorted(((int(k), int(v)) for k, v in dict(current.get("tiers") or {}).items()), key=lambda kv: kv[0])
    charts = {
        "funnel": board.chart(
            "funnel",
            [],
            [
                board.series(
                    "funnel",
                    [{"name": s["label"], "value": s["change"].value, "rate": s["conversion"]} for s in steps],
                )
            ],
        ),
        "daily": board.daily_chart(
            "line",
            chosen,
            daily,
            previous_daily,
            [
                ("poster_scans", view.gettext("Posters scanned")),
                ("poster_follows", view.gettext("Followed by scanning")),
                ("credited", view.gettext("Invites credited")),
            ],
            previous_label=label,
        ),
        "rewards": board.daily_chart("bar", chosen, daily, None, [("rewards", view.gettext("Rewards granted"))]),
        "tiers": board.chart(
            "bar",
            [view.gettext("Tier %(n)s", n=n) for n, _ in tiers],
            [board.series(view.gettext("Members who reached it"), [count for _, count in tiers])],
        ),
    }
    return _render(
        view,
        "dashboards/campaign.html",
        choice,
        campaign_id=campaign_id,
        campaign=campaign,
        steps=steps,
        tiers=tiers,
        retention=dict(current.get("retention") or {}),
        totals=totals,
        previous_totals=previous,
        charts=charts,
        has_data=any(s["change"].value for s in steps)
        or board.has_any(daily, ("poster_sent", "poster_scans", "credited")),
        board_key=f"campaigns/{campaign_id}",
    )


def _step_count(body: Mapping[str, Any], key: str) -> int:
    return next((int(s.get("count") or 0) for s in body.get("funnel") or [] if s.get("step") == key), 0)


# -- screenshots --------------------------------------------------------------------------------------


@router.get(BASE + "/screenshots", response_class=HTMLResponse)
async def screenshots_board(view: AccountPage, start: From = "", end: To = "", preset: Preset = "") -> HTMLResponse:
    choice = range_choice(view, start, end, preset)
    chosen = choice.range
    (current, before), reasons = await asyncio.gather(
        _figures(view, "/screenshots", chosen),
        _quietly(view.get(Api.CAMPAIGNS, view.account_path("/screenshots/reasons"))),
    )
    totals, previous = _totals(current), _totals(before)
    decided, previous_decided = _decided(totals), _decided(previous)
    tiles = [_tile(view, "decided", N_("Screenshots decided"), change(decided, previous_decided))]
    for outcome, label in board.SCREENSHOT_OUTCOMES.items():
        tiles.append(
            {
                **_tile(
                    view,
                    outcome,
                    label,
                    change(totals.get(outcome), previous.get(outcome)),
                    good="down" if outcome == "rejected" else "up",
                ),
                "rate": rate(totals.get(outcome), decided),
                "previous_rate": rate(previous.get(outcome), previous_decided),
            }
        )
    daily, previous_daily = _daily(current), _daily(before)
    rates = []
    for row in daily:
        total = _decided(row)
        rates.append({"day": row.get("day"), **{k: rate(row.get(k), total) for k in board.SCREENSHOT_OUTCOMES}})
    names = _reason_names(view, reasons)
    reason_counts = {str(k): int(v) for k, v in dict(current.get("reasons") or {}).items()}
    previous_reasons = {str(k): int(v) for k, v in dict(before.get("reasons") or {}).items()}
    reason_rows = [
        {"code": code, "label": names.get(code, code), "change": change(count, previous_reasons.get(code, 0))}
        for code, count in sorted(reason_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    waits = {str(k): int(v) for k, v in dict(current.get("review_waits") or {}).items()}
    previous_waits = {str(k): int(v) for k, v in dict(before.get("review_waits") or {}).items()}
    wait_rows = [
        {
            "key": key,
            "label": view.gettext(label),
            "change": change(waits.get(key, 0), previous_waits.get(key, 0)),
            "share": rate(waits.get(key, 0), sum(waits.values())),
        }
        for key, label in board.WAIT_BUCKETS.items()
    ]
    outcomes = [(k, view.gettext(v)) for k, v in board.SCREENSHOT_OUTCOMES.items()]
    charts = {
        "decisions": board.daily_chart("bar", chosen, daily, previous_daily and None, outcomes, stack="all"),
        "rates": {
            **board.daily_chart("line", chosen, rates, None, outcomes),
            "percent": True,
        },
        "reasons": board.chart(
            "bar",
            [row["label"] for row in reason_rows],
            [
                board.series(view.gettext("This period"), [row["change"].value for row in reason_rows], colour=2),
                board.series(
                    view.gettext("Previous period"), [row["change"].previous for row in reason_rows], colour=7
                ),
            ],
        ),
        "waits": board.chart(
            "bar",
            [row["label"] for row in wait_rows],
            [
                board.series(view.gettext("This period"), [row["change"].value for row in wait_rows], colour=1),
                board.series(view.gettext("Previous period"), [row["change"].previous for row in wait_rows], colour=7),
            ],
        ),
    }
    return _render(
        view,
        "dashboards/screenshots.html",
        choice,
        tiles=tiles,
        reason_rows=reason_rows,
        wait_rows=wait_rows,
        charts=charts,
        has_data=bool(decided) or board.has_any(previous_daily, ("approved", "rejected", "queued")),
        may_review=view.may(Permission.REVIEW_DECIDE),
        board_key="screenshots",
    )


def _decided(row: Mapping[str, Any]) -> int:
    return sum(int(row.get(k) or 0) for k in board.SCREENSHOT_OUTCOMES)


def _reason_names(view: View, found: Any) -> dict[str, str]:
    items = found.get("reasons", []) if isinstance(found, dict) else []
    return {r["code"]: str(r.get("zh") if view.locale == "zh_CN" else r.get("en")) or r["code"] for r in items}


# -- pushes -------------------------------------------------------------------------------------------


async def _push_names(view: View) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    pushes, segments = await asyncio.gather(
        _quietly(view.get(Api.SEGMENTS, view.account_path("/pushes"))),
        _quietly(view.get(Api.SEGMENTS, view.account_path("/segments"))),
    )
    return {p["id"]: p for p in pushes or []}, {s["id"]: s["name"] for s in segments or []}


def _push_row(row: Mapping[str, Any], pushes: Mapping[str, Any], segments: Mapping[str, str]) -> dict[str, Any]:
    push = pushes.get(row.get("push_id", ""), {})
    segment_id = row.get("segment_id") or push.get("segment_id") or ""
    failures = {str(k): int(v) for k, v in dict(row.get("failures") or {}).items()}
    return {
        **row,
        "name": push.get("name") or row.get("push_id"),
        "segment": segments.get(segment_id, segment_id),
        "failures": sorted(failures.items(), key=lambda kv: -kv[1]),
        "click_rate": row.get("click_rate", rate(row.get("clickers"), row.get("delivered"))),
    }


@router.get(BASE + "/pushes", response_class=HTMLResponse)
async def pushes_board(view: AccountPage, start: From = "", end: To = "", preset: Preset = "") -> HTMLResponse:
    choice = range_choice(view, start, end, preset)
    (current, before), (pushes, segments) = await asyncio.gather(
        _figures(view, "/pushes", choice.range), _push_names(view)
    )
    rows = [_push_row(row, pushes, segments) for row in current.get("pushes") or []]
    totals = {k: sum(int(r.get(k) or 0) for r in rows) for k in ("delivered", "failed", "clicks", "clickers")}
    previous_rows = list(before.get("pushes") or [])
    previous = {k: sum(int(r.get(k) or 0) for r in previous_rows) for k in totals}
    tiles = [
        _tile(view, "delivered", N_("Delivered"), change(totals["delivered"], previous["delivered"])),
        _tile(view, "failed", N_("Failed"), change(totals["failed"], previous["failed"]), good="down"),
        _tile(view, "clicks", N_("Clicks"), change(totals["clicks"], previous["clicks"])),
        {
            **_tile(
                view,
                "click_rate",
                N_("Click rate"),
                change(
                    rate(totals["clickers"], totals["delivered"]), rate(previous["clickers"], previous["delivered"])
                ),
            ),
            "percent": True,
        },
    ]
    top = sorted(rows, key=lambda r: -int(r.get("delivered") or 0))[:15]
    charts = {
        "pushes": board.chart(
            "bar",
            [str(r["name"]) for r in top],
            [
                board.series(view.gettext("Delivered"), [r.get("delivered", 0) for r in top], colour=0),
                board.series(view.gettext("Failed"), [r.get("failed", 0) for r in top], colour=2),
                board.series(view.gettext("Clicks"), [r.get("clicks", 0) for r in top], colour=1),
            ],
        )
    }
    return _render(view, "dashboards/pushes.html", choice, rows=rows, tiles=tiles, charts=charts, board_key="pushes")


@router.get(BASE + "/pushes/{push_id}", response_class=HTMLResponse)
async def push_board(
    view: AccountPage, push_id: _ID, start: From = "", end: To = "", preset: Preset = ""
) -> HTMLResponse:
    choice = range_choice(view, start, end, preset)
    chosen = choice.range
    (current, before), (pushes, segments) = await asyncio.gather(
        _figures(view, f"/pushes/{push_id}", chosen), _push_names(view)
    )
    totals, previous = _totals(current), _totals(before)
    row = _push_row({"push_id": push_id, **totals, "failures": current.get("failures") or {}}, pushes, segments)
    variants = [
        {**v, "click_rate": v.get("click_rate", rate(v.get("clickers"), v.get("delivered")))}
        for v in current.get("variants") or []
    ]
    daily, previous_daily = _daily(current), _daily(before)
    charts = {
        "daily": board.daily_chart(
            "bar",
            chosen,
            daily,
            previous_daily,
            [
                ("delivered", view.gettext("Delivered")),
                ("failed", view.gettext("Failed")),
                ("clicks", view.gettext("Clicks")),
            ],
            previous_label=_previous_label(view),
        ),
        "variants": board.chart(
            "bar",
            [str(v.get("variant") or "-") for v in variants],
            [
                board.series(view.gettext("Delivered"), [v.get("delivered", 0) for v in variants], colour=0),
                board.series(view.gettext("Clicks"), [v.get("clicks", 0) for v in variants], colour=1),
                board.series(
                    view.gettext("Click rate"), [v["click_rate"] for v in variants], colour=3, axis=1, kind="line"
                ),
            ],
        ),
        "failures": board.chart(
            "bar",
            [code for code, _ in row["failures"]],
            [board.series(view.gettext("Failed"), [count for _, count in row["failures"]], colour=2)],
        ),
    }
    return _render(
        view,
        "dashboards/push.html",
        choice,
        push_id=push_id,
        push=row,
        variants=variants,
        totals=totals,
        tiles=[
            _tile(view, "delivered", N_("Delivered"), change(totals.get("delivered"), previous.get("delivered"))),
            _tile(view, "failed", N_("Failed"), change(totals.get("failed"), previous.get("failed")), good="down"),
            _tile(view, "clicks", N_("Clicks"), change(totals.get("clicks"), previous.get("clicks"))),
        ],
        charts=charts,
        has_data=board.has_any(daily, ("delivered", "failed", "clicks")),
        board_key=f"pushes/{push_id}",
    )
