"""The analytics dashboards: the account overview's figures, campaign funnels, screenshot decisions and
push results, each over a chosen date range compared with the period before it, with its data as CSV.

Figures come from the analytics API (``/accounts/{appid}/dashboards/...``, ``stats:view``; shapes in
docs/analytics.md), which answers from daily rollups and returns ids; names come from the campaigns and
segments APIs, fetched quietly (without them the page shows ids). The API's answer holds the previous
period's totals but only the range's daily series, so each page also asks for the previous period
itself (at the same time) to draw it dashed. Charts are drawn by ``static/dashboards.js`` from the
page's JSON block.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse, Response

from services.console.domain import dashboards as board
from services.console.domain.dashboards import Change, DateRange, RangeChoice, change, choose_range, rate
from services.console.domain.formatting import BEIJING, parse_time
from services.console.domain.messages import N_
from services.console.domain.pushes import ERRCODES
from services.console.entrypoints.http.deps import AccountPage, View
from services.console.service_layer.ports import Api, ApiError, ApiUnavailable
from shared.identity import Permission

__all__ = ["DASHBOARD_TEXTS", "overview_figures", "range_choice", "range_context", "router"]

router = APIRouter()

BASE = "/accounts/{appid}/dashboards"
#: As the analytics API takes them (campaign and push ids).
_ID = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
DASHBOARD_TEXTS: dict[str, Any] = {
    "PRESETS": board.PRESETS,
    "SOURCE_LABELS": board.SOURCE_LABELS,
    "FUNNEL_STEPS": board.FUNNEL_STEPS,
    "WAIT_BUCKETS": board.WAIT_BUCKETS,
    "ERRCODES": ERRCODES,
}

From = Annotated[str, Query(alias="from", max_length=20)]
To = Annotated[str, Query(alias="to", max_length=20)]
Preset = Annotated[str, Query(max_length=10)]
#: CSV: the API's tables to keep (by title), e.g. ``daily``; none: all of them.
Tables = Annotated[list[str], Query(alias="table", max_length=8)]


def range_choice(start: str, end: str, preset: str) -> RangeChoice:
    return choose_range(start, end, preset, board.beijing_today(datetime.now(UTC)))


def range_context(choice: RangeChoice) -> dict[str, Any]:
    """What the range control shows (``range_errors`` hold message ids: the template translates them)."""
    return {
        "choice": choice,
        "previous": choice.range.previous(),
        "range_errors": dict(choice.errors),
        "today": board.beijing_today(datetime.now(UTC)).isoformat(),
    }


async def _quietly(call: Awaitable[Any]) -> Any:
    try:
        return await call
    except (ApiError, ApiUnavailable):
        return None


def _api_path(view: View, suffix: str) -> str:
    return view.account_path("/dashboards" + suffix)


async def _figures(
    view: View, suffix: str, chosen: DateRange, *, page: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The dashboard over the range, and over the period before it (for its series and lists);
    ``page``: the list's page of the range (the period before is asked for its totals only)."""
    path = _api_path(view, suffix)
    current, previous = await asyncio.gather(
        view.get(Api.ANALYTICS, path, **chosen.params(), **(page or {})),
        view.get(Api.ANALYTICS, path, **chosen.previous().params(), **({"limit": 1} if page else {})),
    )
    return dict(current or {}), dict(previous or {})


def _render(view: View, template: str, choice: RangeChoice, **extra: Any) -> HTMLResponse:
    return view.render(template, **DASHBOARD_TEXTS, **range_context(choice), **extra)


def _totals(body: Mapping[str, Any], key: str = "totals") -> dict[str, Any]:
    return dict(body.get(key) or {})


def _series(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(body.get("series") or [])


def _counts(found: Any) -> dict[str, int]:
    return {str(k): int(v) for k, v in dict(found or {}).items()}


def _previous_label(view: View) -> str:
    return view.gettext("%(name)s (previous period)")


def _tile(
    view: View, key: str, label: str, figure: Change, *, good: str = "up", hint: str = "", percent: bool = False
) -> dict[str, Any]:
    """A tile: the figure and its change; ``good`` says which way is better (coloured so)."""
    return {"key": key, "label": view.gettext(label), "change": figure, "good": good, "hint": hint, "percent": percent}


def _figure_tile(
    view: View, key: str, label: str, body: Mapping[str, Any], *, good: str = "up", percent: bool = False
) -> dict[str, Any]:
    figure = change(_totals(body).get(key), _totals(body, "previous_totals").get(key))
    return _tile(view, key, label, figure, good=good, percent=percent)


def _compare_bars(view: View, rows: list[dict[str, Any]], colour: int) -> dict[str, Any]:
    """Rows with a ``label`` and a ``change``: this period's bars beside the previous period's."""
    return board.chart(
        "bar",
        [row["label"] for row in rows],
        [
            board.series(view.gettext("This period"), [row["change"].value for row in rows], colour=colour),
            board.series(view.gettext("Previous period"), [row["change"].previous for row in rows], colour=7),
        ],
    )


# -- CSV: the analytics API's own export, passed through --------------------------------------------


async def _csv(view: View, suffix: str, name: str, choice: RangeChoice, tables: Iterable[str]) -> Response:
    """The API's CSV as an attachment; ``tables`` keeps only those sections (one chart's figures)."""
    reply = await view.call(
        Api.ANALYTICS, "GET", _api_path(view, suffix), params={**choice.range.params(), "format": "csv"}
    )
    wanted = [t for t in tables if t]
    content = board.csv_sections(reply.content, wanted) if wanted else reply.content
    part = f"-{wanted[0].replace(' ', '-')}" if len(wanted) == 1 else ""
    filename = f"{name}{part}_{view.appid}_{choice.range.start.isoformat()}_{choice.range.end.isoformat()}.csv"
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(BASE + "/overview.csv", response_model=None)
async def export_overview(
    view: AccountPage,
    start: From = "",
    end: To = "",
    preset: Preset = "",
    table: Tables = [],  # noqa: B006
) -> Response:
    """A dashboard's figures as CSV: UTF-8 with a byte order mark, so Excel reads the Chinese."""
    return await _csv(view, "/overview", "overview", range_choice(start, end, preset), table)


@router.get(BASE + "/campaigns.csv", response_model=None)
async def export_campaigns(
    view: AccountPage,
    start: From = "",
    end: To = "",
    preset: Preset = "",
    table: Tables = [],  # noqa: B006
) -> Response:
    return await _csv(view, "/campaigns", "campaigns", range_choice(start, end, preset), table)


@router.get(BASE + "/campaigns/{campaign_id}/export.csv", response_model=None)
async def export_campaign(
    view: AccountPage,
    campaign_id: _ID,
    start: From = "",
    end: To = "",
    preset: Preset = "",
    table: Tables = [],  # noqa: B006
) -> Response:
    choice = range_choice(start, end, preset)
    return await _csv(view, f"/campaigns/{campaign_id}", f"campaign-{campaign_id}", choice, table)


@router.get(BASE + "/screenshots.csv", response_model=None)
async def export_screenshots(
    view: AccountPage,
    start: From = "",
    end: To = "",
    preset: Preset = "",
    table: Tables = [],  # noqa: B006
) -> Response:
    return await _csv(view, "/screenshots", "screenshots", range_choice(start, end, preset), table)


@router.get(BASE + "/pushes.csv", response_model=None)
async def export_pushes(
    view: AccountPage,
    start: From = "",
    end: To = "",
    preset: Preset = "",
    table: Tables = [],  # noqa: B006
) -> Response:
    return await _csv(view, "/pushes", "pushes", range_choice(start, end, preset), table)


@router.get(BASE + "/pushes/{push_id}/export.csv", response_model=None)
async def export_push(
    view: AccountPage,
    push_id: _ID,
    start: From = "",
    end: To = "",
    preset: Preset = "",
    table: Tables = [],  # noqa: B006
) -> Response:
    return await _csv(view, f"/pushes/{push_id}", f"push-{push_id}", range_choice(start, end, preset), table)


# -- the overview (its page is overview.py's, which adds campaigns, pushes and member tiles) ----------


def _ran(campaign: Mapping[str, Any], chosen: DateRange) -> bool:
    """Whether the campaign ran on some day of the range (Beijing days; a draft never ran)."""
    if campaign.get("status") == "draft":
        return False
    starts, ends = parse_time(campaign.get("starts_at")), parse_time(campaign.get("ends_at"))
    first = starts.astimezone(BEIJING).date() if starts else date.min
    last = ends.astimezone(BEIJING).date() if ends else date.max
    return first <= chosen.end and last >= chosen.start


async def overview_figures(view: View, choice: RangeChoice, campaigns: list[dict[str, Any]] | None) -> dict[str, Any]:
    """The overview's tiles, tables and charts; ``analytics`` is None when the API refused or is down
    (the rest of the overview still shows)."""
    chosen = choice.range
    last_month = board.same_days_last_month(board.beijing_today(datetime.now(UTC)))
    try:
        (current, before), month_before = await asyncio.gather(
            _figures(view, "/overview", chosen),
            view.get(Api.ANALYTICS, _api_path(view, "/overview"), **last_month.params()),
        )
    except (ApiError, ApiUnavailable) as exc:
        return {"analytics": None, "analytics_problem": view.error(exc) if isinstance(exc, ApiError) else str(exc)}
    month = dict(current.get("month") or {})
    tiles = [
        _figure_tile(view, "follows", N_("Followers gained"), current),
        _figure_tile(view, "unfollows", N_("Followers lost"), current, good="down"),
        _figure_tile(view, "net_follows", N_("Net followers"), current),
    ]
    if campaigns is not None:
        running = sum(_ran(c, chosen) for c in campaigns)
        earlier = sum(_ran(c, chosen.previous()) for c in campaigns)
        tiles.append(_tile(view, "campaigns", N_("Campaigns running"), change(running, earlier)))
    tiles += [
        _figure_tile(view, "pushes_delivered", N_("Pushes delivered"), current),
        _tile(
            view,
            "value",
            N_("Value delivered this month"),
            change(month.get("project_delivered"), _totals(month_before).get("project_delivered")),
            hint=view.gettext(
                "Deliveries of pushes linked to a brand project, %(start)s to today, against %(first)s – %(last)s",
                start=str(month.get("from", "")),
                first=last_month.start.isoformat(),
                last=last_month.end.isoformat(),
            ),
        ),
    ]
    daily, previous_daily = _series(current), _series(before)
    gained, lost = _counts(current.get("follows_by_source")), _counts(current.get("unfollows_by_source"))
    gained_before = _counts(before.get("follows_by_source"))
    keys = [k for k in board.SOURCE_LABELS if k in gained or k in lost or k in gained_before]
    keys += sorted({*gained, *lost, *gained_before} - set(keys))
    source_rows = [
        {
            "key": key,
            "label": view.gettext(board.SOURCE_LABELS.get(key, key)),
            "change": change(gained.get(key, 0), gained_before.get(key, 0)),
            "share": rate(gained.get(key, 0), sum(gained.values())),
            "lost": lost.get(key, 0),
        }
        for key in keys
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
        "net": board.daily_chart("bar", chosen, daily, None, [("net_follows", view.gettext("Net followers"))]),
        "sources": _compare_bars(view, source_rows, 0),
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
        "has_follows": board.has_any(daily, ("follows", "unfollows")),
        "has_pushes": board.has_any(daily, ("pushes_delivered",)),
        "has_sources": bool(source_rows),
    }


# -- campaigns ----------------------------------------------------------------------------------------


async def _campaigns_by_id(view: View) -> dict[str, dict[str, Any]]:
    found = await _quietly(view.get(Api.CAMPAIGNS, view.account_path("/campaigns"), limit=200))
    items = found.get("items", []) if isinstance(found, dict) else (found or [])
    return {c["id"]: c for c in items}


@router.get(BASE + "/campaigns", response_class=HTMLResponse)
async def campaigns_board(view: AccountPage, start: From = "", end: To = "", preset: Preset = "") -> HTMLResponse:
    """Every campaign with activity in the range, with names from the campaigns API."""
    choice = range_choice(start, end, preset)
    (current, before), campaigns = await asyncio.gather(
        _figures(view, "/campaigns", choice.range), _campaigns_by_id(view)
    )
    previous = {row.get("campaign_id"): row for row in before.get("campaigns") or []}
    rows = []
    for row in current.get("campaigns") or []:
        campaign = campaigns.get(str(row.get("campaign_id")), {})
        rows.append(
            {
                **row,
                "name": campaign.get("name") or row.get("campaign_id"),
                "status": campaign.get("status"),
                "credited_change": change(
                    row.get("credited"), previous.get(row.get("campaign_id"), {}).get("credited", 0)
                ),
            }
        )
    tiles = [
        _figure_tile(view, "poster_sent", N_("Posters sent"), current),
        _figure_tile(view, "credited", N_("Invites credited"), current),
        _figure_tile(view, "revoked", N_("Credits revoked"), current, good="down"),
        _figure_tile(view, "rewards", N_("Rewards granted"), current),
    ]
    return _render(view, "dashboards/campaigns.html", choice, rows=rows, tiles=tiles, board_key="campaigns")


def _step_counts(body: Mapping[str, Any]) -> dict[str, int]:
    return {str(s.get("step")): int(s.get("count") or 0) for s in body.get("funnel") or []}


@router.get(BASE + "/campaigns/{campaign_id}", response_class=HTMLResponse)
async def campaign_board(
    view: AccountPage, campaign_id: _ID, start: From = "", end: To = "", preset: Preset = ""
) -> HTMLResponse:
    """A campaign's referral funnel with the conversion between steps, invitee retention, tiers and
    its days."""
    choice = range_choice(start, end, preset)
    chosen = choice.range
    (current, before), campaign, reasons = await asyncio.gather(
        _figures(view, f"/campaigns/{campaign_id}", chosen),
        _quietly(view.get(Api.CAMPAIGNS, view.account_path(f"/campaigns/{campaign_id}"))),
        _quietly(view.get(Api.CAMPAIGNS, view.account_path("/screenshots/reasons"))),
    )
    earlier, names = _step_counts(before), _reason_names(view, reasons)
    steps = [
        {
            "key": step.get("step"),
            "label": view.gettext(board.FUNNEL_STEPS.get(str(step.get("step")), str(step.get("step")))),
            "change": change(step.get("count"), earlier.get(str(step.get("step")), 0)),
            "from_previous": step.get("from_previous"),
            "from_first": step.get("from_first"),
            "cohort": step.get("cohort"),
        }
        for step in current.get("funnel") or []
    ]
    daily, previous_daily = _series(current), _series(before)
    tiers = list(current.get("tiers") or [])
    charts = {
        "funnel": board.chart(
            "funnel",
            [],
            [
                board.series(
                    "funnel",
                    [{"name": s["label"], "value": s["change"].value, "rate": s["from_previous"]} for s in steps],
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
            previous_label=_previous_label(view),
        ),
        "rewards": board.daily_chart(
            "bar",
            chosen,
            daily,
            None,
            [("rewards", view.gettext("Rewards granted")), ("revoked", view.gettext("Credits revoked"))],
        ),
        "tiers": board.chart(
            "bar",
            [view.gettext("Tier %(n)s", n=t.get("tier")) for t in tiers],
            [
                board.series(view.gettext("Members who reached it"), [t.get("reached", 0) for t in tiers], colour=0),
                board.series(view.gettext("Rewards granted"), [t.get("rewards", 0) for t in tiers], colour=1),
            ],
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
        screenshots=_counts(current.get("screenshots")),
        screenshot_reasons=[
            (names.get(code, code), count) for code, count in _counts(current.get("screenshot_reasons")).items()
        ],
        charts=charts,
        has_data=any(s["change"].value for s in steps) or board.has_any(daily, ("revoked",)),
        board_key=f"campaigns/{campaign_id}",
    )


# -- screenshots --------------------------------------------------------------------------------------


def _reason_names(view: View, found: Any) -> dict[str, str]:
    items = found.get("reasons", []) if isinstance(found, dict) else []
    return {str(r["code"]): str(r.get("zh" if view.locale == "zh_CN" else "en") or r["code"]) for r in items}


@router.get(BASE + "/screenshots", response_class=HTMLResponse)
async def screenshots_board(view: AccountPage, start: From = "", end: To = "", preset: Preset = "") -> HTMLResponse:
    """Share-screenshot decisions over time: approval, rejection and review rates, reasons, review waits."""
    choice = range_choice(start, end, preset)
    chosen = choice.range
    (current, before), reasons = await asyncio.gather(
        _figures(view, "/screenshots", chosen),
        _quietly(view.get(Api.CAMPAIGNS, view.account_path("/screenshots/reasons"))),
    )
    tiles = [
        _figure_tile(view, "submitted", N_("Screenshots submitted"), current),
        _figure_tile(view, "approval_rate", N_("Approval rate"), current, percent=True),
        _figure_tile(view, "rejection_rate", N_("Rejection rate"), current, good="down", percent=True),
        _figure_tile(view, "review_rate", N_("Sent to review"), current, good="down", percent=True),
        _figure_tile(view, "reviewed", N_("Decided by reviewers"), current),
    ]
    daily, previous_daily = _series(current), _series(before)
    outcomes = [
        ("approved", view.gettext("Approved")),
        ("rejected", view.gettext("Rejected")),
        ("queued", view.gettext("Sent to review")),
    ]
    rates = [
        ("approval_rate", view.gettext("Approval rate")),
        ("rejection_rate", view.gettext("Rejection rate")),
        ("review_rate", view.gettext("Sent to review")),
    ]
    names = _reason_names(view, reasons)
    now_reasons, earlier_reasons = _counts(current.get("reasons")), _counts(before.get("reasons"))
    reason_rows = [
        {"code": code, "label": names.get(code, code), "change": change(count, earlier_reasons.get(code, 0))}
        for code, count in sorted(now_reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    waits, earlier_waits = _counts(current.get("review_waits")), _counts(before.get("review_waits"))
    wait_rows = [
        {
            "key": key,
            "label": view.gettext(label),
            "change": change(waits.get(key, 0), earlier_waits.get(key, 0)),
            "share": rate(waits.get(key, 0), sum(waits.values())),
        }
        for key, label in board.WAIT_BUCKETS.items()
    ]
    charts = {
        "decisions": board.daily_chart("bar", chosen, daily, None, outcomes, stack="decisions"),
        "rates": board.daily_chart(
            "line", chosen, daily, previous_daily, rates, previous_label=_previous_label(view), percent=True
        ),
        "reasons": _compare_bars(view, reason_rows, 2),
        "waits": _compare_bars(view, wait_rows, 1),
    }
    return _render(
        view,
        "dashboards/screenshots.html",
        choice,
        tiles=tiles,
        reason_rows=reason_rows,
        wait_rows=wait_rows,
        charts=charts,
        has_data=board.has_any(daily, ("approved", "rejected", "queued")),
        has_waits=any(waits.values()),
        may_review=view.may(Permission.REVIEW_DECIDE),
        board_key="screenshots",
    )


# -- pushes -------------------------------------------------------------------------------------------


async def _push_names(view: View) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Pushes and segments by id (the segments API, ``push:view`` and ``segment:view``; without them: ids)."""
    pushes, segments = await asyncio.gather(
        _quietly(view.get(Api.SEGMENTS, view.account_path("/pushes"))),
        _quietly(view.get(Api.SEGMENTS, view.account_path("/segments"))),
    )
    return {p["id"]: p for p in pushes or []}, {s["id"]: s["name"] for s in segments or []}


def _named(row: Mapping[str, Any], pushes: Mapping[str, Any], segments: Mapping[str, str]) -> dict[str, Any]:
    push = pushes.get(str(row.get("push_id")), {})
    segment_id = str(push.get("segment_id") or "")
    failures = _counts(row.get("failures_by_errcode"))
    return {
        **row,
        "name": push.get("name") or row.get("push_id"),
        "segment": segments.get(segment_id, segment_id),
        "failures": sorted(failures.items(), key=lambda kv: (-kv[1], kv[0])),
    }


#: Pushes per page of the push results (the analytics API pages its list, newest first).
PUSHES_PAGE = 50


@router.get(BASE + "/pushes", response_class=HTMLResponse)
async def pushes_board(
    view: AccountPage,
    start: From = "",
    end: To = "",
    preset: Preset = "",
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> HTMLResponse:
    """Every push delivered in the range: delivered, failed (by WeChat error code), clicks, variants."""
    choice = range_choice(start, end, preset)
    chosen = choice.range
    (current, before), (pushes, segments) = await asyncio.gather(
        _figures(view, "/pushes", chosen, page={"limit": PUSHES_PAGE, "offset": offset}), _push_names(view)
    )
    rows = [_named(row, pushes, segments) for row in current.get("pushes") or []]
    tiles = [
        _figure_tile(view, "delivered", N_("Delivered"), current),
        _figure_tile(view, "failed", N_("Failed"), current, good="down"),
        _figure_tile(view, "clicks", N_("Clicks"), current),
        _figure_tile(view, "click_rate", N_("Click rate"), current, percent=True),
    ]
    top = sorted(rows, key=lambda r: -int(r.get("delivered") or 0))[:15]
    charts = {
        "daily": board.daily_chart(
            "bar",
            chosen,
            _series(current),
            _series(before),
            [("delivered", view.gettext("Delivered")), ("clicks", view.gettext("Clicks"))],
            previous_label=_previous_label(view),
        ),
        "pushes": board.chart(
            "bar",
            [str(r["name"]) for r in top],
            [
                board.series(view.gettext("Delivered"), [r.get("delivered", 0) for r in top], colour=0),
                board.series(view.gettext("Failed"), [r.get("failed", 0) for r in top], colour=2),
                board.series(view.gettext("Clicks"), [r.get("clicks", 0) for r in top], colour=1),
            ],
        ),
    }
    return _render(
        view,
        "dashboards/pushes.html",
        choice,
        rows=rows,
        tiles=tiles,
        charts=charts,
        offset=offset,
        page_size=PUSHES_PAGE,
        total=int(current.get("pushes_in_range") or len(rows)),
        has_data=bool(rows) or board.has_any(_series(current), ("delivered", "failed", "clicks")),
        board_key="pushes",
    )


@router.get(BASE + "/pushes/{push_id}", response_class=HTMLResponse)
async def push_board(
    view: AccountPage, push_id: _ID, start: From = "", end: To = "", preset: Preset = ""
) -> HTMLResponse:
    """One push over the range: per day (the previous period dashed), per variant, failures by code."""
    choice = range_choice(start, end, preset)
    chosen = choice.range
    (current, before), (pushes, segments) = await asyncio.gather(
        _figures(view, f"/pushes/{push_id}", chosen), _push_names(view)
    )
    push = _named({"push_id": push_id, "failures_by_errcode": current.get("failures_by_errcode")}, pushes, segments)
    variants = list(current.get("variants") or [])
    daily = _series(current)
    charts = {
        "daily": board.daily_chart(
            "bar",
            chosen,
            daily,
            _series(before),
            [
                ("delivered", view.gettext("Delivered")),
                ("failed", view.gettext("Failed")),
                ("clicks", view.gettext("Clicks")),
            ],
            previous_label=_previous_label(view),
        ),
        "variants": board.chart(
            "bar",
            [str(v.get("variant")) for v in variants],
            [
                board.series(view.gettext("Delivered"), [v.get("delivered", 0) for v in variants], colour=0),
                board.series(view.gettext("Clicks"), [v.get("clicks", 0) for v in variants], colour=1),
                board.series(
                    view.gettext("Click rate"), [v.get("click_rate") for v in variants], colour=3, axis=1, kind="line"
                ),
            ],
        ),
        "failures": board.chart(
            "bar",
            [code for code, _ in push["failures"]],
            [board.series(view.gettext("Failed"), [count for _, count in push["failures"]], colour=2)],
        ),
    }
    return _render(
        view,
        "dashboards/push.html",
        choice,
        push_id=push_id,
        push=push,
        variants=variants,
        tiles=[
            _figure_tile(view, "delivered", N_("Delivered"), current),
            _figure_tile(view, "failed", N_("Failed"), current, good="down"),
            _figure_tile(view, "clicks", N_("Clicks"), current),
            _figure_tile(view, "click_rate", N_("Click rate"), current, percent=True),
        ],
        charts=charts,
        has_data=board.has_any(daily, ("delivered", "failed", "clicks")),
        board_key=f"pushes/{push_id}",
    )
