"""The dashboards, one use case each: read the few rollups a dashboard needs, compute its figures.

Every dashboard reads at most (days × scopes) small documents by (appid, scope, day): the range and the
period before it for one scope, or one range for the scopes under a prefix (every push, every
campaign). Each answer is a :class:`Dashboard`: the JSON body and the same figures as CSV tables.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.analytics.domain.dashboards import (
    Counters,
    DayRange,
    Figure,
    Rollup,
    Table,
    by_day,
    by_scope,
    change,
    dimension,
    funnel,
    month_to_date,
    ratio,
    retention,
    series,
    sum_counters,
    sum_days,
    tier_reached,
    tiers,
    within,
)
from services.analytics.domain.rollups import ACCOUNT, campaign_scope, project_scope, push_scope
from services.analytics.service_layer.ports import RollupReader

__all__ = ["REVIEW_WAITS", "SCREENSHOT_OUTCOMES", "Dashboard", "Dashboards"]

#: Reviewer decisions by time from submission, in this order.
REVIEW_WAITS = ("lt1h", "lt4h", "lt24h", "ge24h")
SCREENSHOT_OUTCOMES = ("approved", "rejected", "queued")
_PUSH_METRICS = ("delivered", "failed", "clicks", "clickers")
#: Where a follower came from (``follows:<source>``); an unfollow also ``unknown`` (its follow never seen).
SOURCES = ("poster", "campaign_code", "qr", "direct")
#: The account counters each dashboard reads (the account rollup holds every dashboard's: reading only
#: these keeps a year's range light).
OVERVIEW_METRICS = (
    "follows",
    "unfollows",
    "pushes_delivered",
    "pushes_failed",
    "push_clicks",
    "push_clickers",
    "project_delivered",
    "poster_sent",
    "credited",
    "rewards",
    *(f"follows:{source}" for source in SOURCES),
    *(f"unfollows:{source}" for source in (*SOURCES, "unknown")),
)
CAMPAIGN_LIST_METRICS = ("poster_sent", "credited", "revoked", "rewards")
#: Campaigns have at most 10 tiers (the campaigns service's limit).
MAX_TIERS = 10
#: What the campaign list shows of each campaign (no invitee retention: those days settle sooner).
CAMPAIGN_ROW_METRICS = (
    "poster_sent",
    "poster_scans",
    "poster_follows",
    "credited",
    "revoked",
    "rewards",
    *(f"tier:{tier}" for tier in range(1, MAX_TIERS + 1)),
)
PUSH_LIST_METRICS = ("pushes_delivered", "pushes_failed", "push_clicks", "push_clickers")


@dataclass(frozen=True)
class Dashboard:
    """One dashboard's answer: ``body`` is the JSON, ``tables`` the CSV download of the same figures."""

    name: str
    body: dict[str, Any]
    tables: list[Table] = field(default_factory=list)


# -- figures per dashboard (from summed counters: of a day, of a range) ----------------------------


def overview_figures(c: Counters) -> dict[str, Figure]:
    follows, unfollows = c.get("follows", 0), c.get("unfollows", 0)
    return {
        "follows": follows,
        "unfollows": unfollows,
        "net_follows": follows - unfollows,
        "pushes_delivered": c.get("pushes_delivered", 0),
        "pushes_failed": c.get("pushes_failed", 0),
        "push_clicks": c.get("push_clicks", 0),
        "push_clickers": c.get("push_clickers", 0),
        "project_delivered": c.get("project_delivered", 0),
        "poster_sent": c.get("poster_sent", 0),
        "credited": c.get("credited", 0),
        "rewards": c.get("rewards", 0),
    }


def campaign_figures(c: Counters) -> dict[str, Figure]:
    return {
        "poster_sent": c.get("poster_sent", 0),
        "poster_scans": c.get("poster_scans", 0),
        "poster_follows": c.get("poster_follows", 0),
        "credited": c.get("credited", 0),
        "revoked": c.get("revoked", 0),
        "tier_reached": tier_reached(c),
        "rewards": c.get("rewards", 0),
    }


def campaign_list_figures(c: Counters) -> dict[str, Figure]:
    """What the account rollup holds of every campaign together."""
    return {
        "poster_sent": c.get("poster_sent", 0),
        "credited": c.get("credited", 0),
        "revoked": c.get("revoked", 0),
        "rewards": c.get("rewards", 0),
    }


def screenshot_figures(c: Counters) -> dict[str, Figure]:
    approved, rejected, queued = (c.get(f"screenshots:{outcome}", 0) for outcome in SCREENSHOT_OUTCOMES)
    reviewed = sum(c.get(f"review_wait:{wait}", 0) for wait in REVIEW_WAITS)
    # Each submission is decided once automatically (approved, rejected or queued); a queued one is
    # decided again by a reviewer, which also counts under approved/rejected and under a review wait.
    submitted = max(0, approved + rejected + queued - reviewed)
    return {
        "submitted": submitted,
        "approved": approved,
        "rejected": rejected,
        "queued": queued,
        "reviewed": reviewed,
        "approval_rate": ratio(approved, approved + rejected),
        "rejection_rate": ratio(rejected, approved + rejected),
        "review_rate": ratio(queued, submitted),
    }


def push_figures(c: Counters) -> dict[str, Figure]:
    delivered, clickers = c.get("delivered", 0), c.get("clickers", 0)
    return {
        "delivered": delivered,
        "failed": c.get("failed", 0),
        "clicks": c.get("clicks", 0),
        "clickers": clickers,
        "click_rate": ratio(clickers, delivered),
    }


def account_push_figures(c: Counters) -> dict[str, Figure]:
    """The account rollup's push counters, named as a push's own."""
    return push_figures(
        {
            "delivered": c.get("pushes_delivered", 0),
            "failed": c.get("pushes_failed", 0),
            "clicks": c.get("push_clicks", 0),
            "clickers": c.get("push_clickers", 0),
        }
    )


def project_figures(c: Counters) -> dict[str, Figure]:
    delivered, clickers = c.get("delivered", 0), c.get("clickers", 0)
    return {
        "delivered": delivered,
        "clicks": c.get("clicks", 0),
        "clickers": clickers,
        "click_rate": ratio(clickers, delivered),
    }


def failures_by_errcode(c: Counters) -> dict[str, int]:
    return {code: n for code, n in dimension(c, "failed").items() if not code.startswith("v:")}


def variants(c: Counters) -> list[dict[str, Any]]:
    """Per A/B variant (``-``: a push without variants): its push figures."""
    names = sorted({name.split(":v:", 1)[1] for name in c if ":v:" in name})
    return [
        {"variant": name, **push_figures({metric: c.get(f"{metric}:v:{name}", 0) for metric in _PUSH_METRICS})}
        for name in names
    ]


# -- the use cases ----------------------------------------------------------------------------------


def _period(days: DayRange, rollups: Sequence[Rollup], figures: Any) -> dict[str, Any]:
    """``range``, ``previous``, ``totals``, ``previous_totals``, ``change`` and the daily ``series`` of
    rollups read over the previous period and the range together."""
    previous = days.previous()
    daily = by_day(rollups)
    totals = figures(sum_days(daily, days))
    previous_totals = figures(sum_days(daily, previous))
    return {
        "range": days.as_dict(),
        "previous": previous.as_dict(),
        "totals": totals,
        "previous_totals": previous_totals,
        "change": change(totals, previous_totals),
        "series": series(days, daily, figures),
    }


def _totals_table(body: Mapping[str, Any]) -> Table:
    totals, previous = body["totals"], body["previous_totals"]
    rows = [
        [name, value, previous.get(name), body["change"][name]["delta"], body["change"][name]["percent"]]
        for name, value in totals.items()
    ]
    return Table(
        f"totals {body['range']['from']} to {body['range']['to']} vs {body['previous']['from']} to "
        f"{body['previous']['to']}",
        ["figure", "value", "previous", "change", "change_percent"],
        rows,
    )


def _counts_table(title: str, key: str, counts: Mapping[str, int]) -> Table:
    return Table(title, [key, "count"], [[name, n] for name, n in counts.items()])


class Dashboards:
    def __init__(self, reader: RollupReader) -> None:
        self._reader = reader

    async def _span(self, appid: str, scope: str, days: DayRange, metrics: Sequence[str] | None = None) -> list[Rollup]:
        """The scope's rollups over the previous period and the range (one contiguous read)."""
        return await self._reader.read(appid, scope, days.previous().first, days.last, metrics)

    async def overview(self, appid: str, days: DayRange, today: date) -> Dashboard:
        month = month_to_date(today)
        span = DayRange(days.previous().start, days.end)
        if span.start <= month.start and month.end <= span.end:
            rollups = await self._span(appid, ACCOUNT, days, OVERVIEW_METRICS)
            month_rollups = within(rollups, month)
        else:
            rollups, month_rollups = await asyncio.gather(
                self._span(appid, ACCOUNT, days, OVERVIEW_METRICS),
                self._reader.read(appid, ACCOUNT, month.first, month.last, OVERVIEW_METRICS),
            )
        body = _period(days, rollups, overview_figures)
        in_range = sum_counters(within(rollups, days))
        body["follows_by_source"] = dimension(in_range, "follows")
        body["unfollows_by_source"] = dimension(in_range, "unfollows")
        month_totals = sum_counters(month_rollups)
        body["month"] = {
            **month.as_dict(),
            "pushes_delivered": month_totals.get("pushes_delivered", 0),
            "project_delivered": month_totals.get("project_delivered", 0),
            "follows": month_totals.get("follows", 0),
            "unfollows": month_totals.get("unfollows", 0),
        }
        tables = [
            _totals_table(body),
            Table.of("daily", body["series"]),
            _counts_table("follows by source", "source", body["follows_by_source"]),
            _counts_table("unfollows by source", "source", body["unfollows_by_source"]),
            Table.of("this month", [body["month"]]),
        ]
        return Dashboard("overview", body, tables)

    async def campaign(self, appid: str, campaign_id: str, days: DayRange, today: date) -> Dashboard:
        rollups = await self._span(appid, campaign_scope(campaign_id), days)
        body: dict[str, Any] = {"campaign_id": campaign_id, **_period(days, rollups, campaign_figures)}
        daily = by_day(within(rollups, days))
        in_range = sum_counters(within(rollups, days))
        body["funnel"] = funnel(daily, days, today)
        body["retention"] = {f"{w}d": retention(daily, days, today, w) for w in (7, 30)}
        body["tiers"] = [
            {"tier": tier, "reached": reached, "rewards": in_range.get(f"rewards:{tier}", 0)}
            for tier, reached in tiers(in_range).items()
        ]
        body["screenshots"] = {outcome: in_range.get(f"screenshots:{outcome}", 0) for outcome in SCREENSHOT_OUTCOMES}
        body["screenshot_reasons"] = dimension(in_range, "screenshot_reason")
        tables = [
            _totals_table(body),
            Table.of("funnel", body["funnel"], ["step", "count", "from_previous", "from_first"]),
            Table.of("tiers", body["tiers"], ["tier", "reached", "rewards"]),
            Table.of("daily", body["series"]),
        ]
        return Dashboard(f"campaign-{campaign_id}", body, tables)

    async def campaigns(self, appid: str, days: DayRange) -> Dashboard:
        account, scoped = await asyncio.gather(
            self._span(appid, ACCOUNT, days, CAMPAIGN_LIST_METRICS),
            self._reader.read_prefix(appid, "campaign:", days.first, days.last, CAMPAIGN_ROW_METRICS),
        )
        body = _period(days, account, campaign_list_figures)
        rows = []
        for scope, found in by_scope(scoped).items():
            counters = sum_counters(found)
            figures = campaign_figures(counters)
            rows.append(
                {
                    "campaign_id": scope.removeprefix("campaign:"),
                    **figures,
                    "scan_rate": ratio(counters.get("poster_scans", 0), counters.get("poster_sent", 0)),
                    "follow_rate": ratio(counters.get("poster_follows", 0), counters.get("poster_scans", 0)),
                    "first_day": min(r.day for r in found),
                    "last_day": max(r.day for r in found),
                }
            )
        rows.sort(key=lambda row: (row["last_day"], row["campaign_id"]), reverse=True)
        body["campaigns"] = rows
        tables = [_totals_table(body), Table.of("campaigns", rows), Table.of("daily", body["series"])]
        return Dashboard("campaigns", body, tables)

    async def screenshots(self, appid: str, days: DayRange) -> Dashboard:
        rollups = await self._span(appid, ACCOUNT, days)
        body = _period(days, rollups, screenshot_figures)
        in_range = sum_counters(within(rollups, days))
        body["reasons"] = dimension(in_range, "screenshot_reason")
        body["review_waits"] = {wait: in_range.get(f"review_wait:{wait}", 0) for wait in REVIEW_WAITS}
        tables = [
            _totals_table(body),
            Table.of("daily", body["series"]),
            _counts_table("rejection and review reasons", "reason", body["reasons"]),
            _counts_table("reviewer decisions by wait", "wait", body["review_waits"]),
        ]
        return Dashboard("screenshots", body, tables)

    async def pushes(self, appid: str, days: DayRange, *, limit: int | None = None, offset: int = 0) -> Dashboard:
        """The pushes with deliveries, failures or clicks in the range, newest first (the first day they
        had any); ``limit`` and ``offset`` page through them (a year holds hundreds)."""
        account, scoped = await asyncio.gather(
            self._span(appid, ACCOUNT, days, PUSH_LIST_METRICS),
            self._reader.read_prefix(appid, "push:", days.first, days.last),
        )
        body = _period(days, account, account_push_figures)
        scopes = by_scope(scoped)
        order = sorted(((min(r.day for r in found), scope) for scope, found in scopes.items()), reverse=True)
        page = order[offset:] if limit is None else order[offset : offset + limit]
        rows: list[dict[str, Any]] = []
        for first_day, scope in page:
            found = scopes[scope]
            counters = sum_counters(found)
            rows.append(
                {
                    "push_id": scope.removeprefix("push:"),
                    **push_figures(counters),
                    "failures_by_errcode": failures_by_errcode(counters),
                    "variants": variants(counters),
                    "first_day": first_day,
                    "last_day": max(r.day for r in found),
                }
            )
        body["pushes_in_range"] = len(order)
        body["pushes"] = rows
        flat = [
            {key: value for key, value in row.items() if key not in ("failures_by_errcode", "variants")} for row in rows
        ]
        variant_rows = [{"push_id": row["push_id"], **variant} for row in rows for variant in row["variants"]]
        failure_rows = [
            {"push_id": row["push_id"], "errcode": code, "count": n}
            for row in rows
            for code, n in row["failures_by_errcode"].items()
        ]
        tables = [
            _totals_table(body),
            Table.of("pushes", flat, ["push_id", "delivered", "failed", "clicks", "clickers", "click_rate",
                                      "first_day", "last_day"]),
            Table.of("variants", variant_rows, ["push_id", "variant", "delivered", "failed", "clicks", "clickers",
                                                "click_rate"]),
            Table.of("failures by errcode", failure_rows, ["push_id", "errcode", "count"]),
            Table.of("daily", body["series"]),
        ]  # fmt: skip
        return Dashboard("pushes", body, tables)

    async def push(self, appid: str, push_id: str, days: DayRange) -> Dashboard:
        rollups = await self._span(appid, push_scope(push_id), days)
        body: dict[str, Any] = {"push_id": push_id, **_period(days, rollups, push_figures)}
        in_range = sum_counters(within(rollups, days))
        body["failures_by_errcode"] = failures_by_errcode(in_range)
        body["variants"] = variants(in_range)
        tables = [
            _totals_table(body),
            Table.of("variants", body["variants"], ["variant", "delivered", "failed", "clicks", "clickers",
                                                    "click_rate"]),
            _counts_table("failures by errcode", "errcode", body["failures_by_errcode"]),
            Table.of("daily", body["series"]),
        ]  # fmt: skip
        return Dashboard(f"push-{push_id}", body, tables)

    async def project(self, appid: str, project_id: str, days: DayRange) -> Dashboard:
        rollups = await self._span(appid, project_scope(project_id), days)
        body: dict[str, Any] = {"project_id": project_id, **_period(days, rollups, project_figures)}
        in_range = sum_counters(within(rollups, days))
        body["by_segment"] = [
            {"segment_id": segment, "delivered": n} for segment, n in dimension(in_range, "delivered:seg").items()
        ]
        delivered = dimension(in_range, "delivered:push")
        clicks = dimension(in_range, "clicks:push")
        body["by_push"] = [
            {"push_id": push, "delivered": delivered.get(push, 0), "clicks": clicks.get(push, 0)}
            for push in sorted(delivered.keys() | clicks.keys(), key=lambda p: (-delivered.get(p, 0), p))
        ]
        tables = [
            _totals_table(body),
            Table.of("daily", body["series"]),
            Table.of("by segment", body["by_segment"], ["segment_id", "delivered"]),
            Table.of("by push", body["by_push"], ["push_id", "delivered", "clicks"]),
        ]
        return Dashboard(f"project-{project_id}", body, tables)
