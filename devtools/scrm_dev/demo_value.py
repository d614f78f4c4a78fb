"""The demo's value: a brand and its project on the demo account, the targeted push composed for that
project, and the dashboards that show what the scenario did, checked against the services that did it.

Every dashboard of the analytics API is read for the demo (overview, campaigns, the campaign's funnel,
screenshots, pushes, the push, the project) with the brands service's progress of the project. Each
figure must be non-zero and, where another service counts the same thing, equal to that service's own
count: analytics folds events, the others keep their own records, so agreement means no event was lost
or counted twice on the way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from scrm_dev.stack import DEMO_APPID

__all__ = [
    "DEMO_BRAND",
    "Check",
    "DemoProject",
    "Truth",
    "ValueRun",
    "beijing_today",
    "create_demo_project",
    "dashboard_checks",
    "month_of",
    "project_target",
    "read_dashboards",
    "wait_for_dashboards",
]

DEMO_BRAND = "小象奶粉 (demo)"
DEMO_PROJECT = "孕晚期奶粉 本月推送"
_BEIJING = timedelta(hours=8)
_TIMEOUT_S = 90.0


def beijing_today(now: datetime) -> date:
    """The Beijing day of ``now`` (UTC+8 all year): the day rollups and projects count in."""
    return (now.astimezone(UTC) + _BEIJING).date()


def month_of(day: date) -> tuple[date, date]:
    """The first and last day of ``day``'s calendar month."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def project_target(segment_size: int) -> int:
    """The demo project's contracted deliveries: twice the segment it pushes to (at least 1), so one push
    completes half of it."""
    return max(1, 2 * segment_size)


@dataclass(frozen=True)
class DemoProject:
    brand_id: str
    project_id: str
    target: int


async def create_demo_project(brands: httpx.AsyncClient, segment_size: int, today: date) -> DemoProject:
    """A brand (owned by the caller) and an active project on the demo account for this month."""
    brand = await brands.post("/brands", json={"name": DEMO_BRAND, "industry": "奶粉"})
    brand.raise_for_status()
    brand_id = brand.json()["id"]
    first, last = month_of(today)
    target = project_target(segment_size)
    project = await brands.post(
        f"/brands/{brand_id}/projects",
        json={
            "appid": DEMO_APPID,
            "name": DEMO_PROJECT,
            "target_deliveries": target,
            "starts_on": first.isoformat(),
            "ends_on": last.isoformat(),
            "price_fen": 600_000_00,
            "status": "active",
        },
    )
    project.raise_for_status()
    return DemoProject(brand_id, project.json()["id"], target)


@dataclass(frozen=True)
class Truth:
    """What the other services (and the script itself) counted: the figures the dashboards must match."""

    members: int
    following: int
    unfollowed: int
    campaign_id: str
    #: The campaign's own stats (standing credits: revoked ones not counted).
    campaign_stats: Mapping[str, Any]
    push_id: str
    segment_id: str
    project_id: str
    #: The push's sends the platform accepted (segments' stats).
    push_sent: int
    #: Links the script opened, each a member's first click on the push.
    push_clicks: int
    #: Members with tags or a life stage (the profiles service's stats).
    members_tagged: int = 0


@dataclass(frozen=True)
class Check:
    """One dashboard figure: non-zero (unless ``may_be_zero``: a breakdown whose total is checked), and
    equal to ``expected`` (another service's count) when given."""

    what: str
    seen: int
    expected: int | None = None
    against: str = ""
    may_be_zero: bool = False

    @property
    def ok(self) -> bool:
        return (self.seen > 0 or self.may_be_zero) and (self.expected is None or self.seen == self.expected)


def _n(body: Mapping[str, Any], *path: str) -> int:
    found: Any = body
    for key in path:
        found = found.get(key, {}) if isinstance(found, Mapping) else {}
    return int(found) if isinstance(found, int) else 0


def _row(rows: Any, key: str, value: str) -> Mapping[str, Any]:
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, Mapping) and row.get(key) == value:
            return row
    return {}


def dashboard_checks(boards: Mapping[str, Mapping[str, Any]], truth: Truth) -> list[Check]:
    """Every figure the demo shows on a dashboard, with what it must equal. ``boards`` holds the JSON of
    each dashboard (``overview``, ``campaigns``, ``campaign``, ``screenshots``, ``pushes``, ``push``,
    ``project``), the brands service's ``progress`` of the project and the profiles service's tag
    ``coverage``."""
    overview, campaign, shots = boards.get("overview", {}), boards.get("campaign", {}), boards.get("screenshots", {})
    push, project, progress = boards.get("push", {}), boards.get("project", {}), boards.get("progress", {})
    coverage = boards.get("coverage", {})
    stats = truth.campaign_stats
    steps = {s.get("step"): int(s.get("count", 0)) for s in campaign.get("funnel", []) if isinstance(s, Mapping)}
    listed = _row(boards.get("campaigns", {}).get("campaigns"), "campaign_id", truth.campaign_id)
    pushed = _row(boards.get("pushes", {}).get("pushes"), "push_id", truth.push_id)
    credited, revoked = _n(overview, "totals", "credited"), _n(campaign, "totals", "revoked")
    rewards = sum(stats.get("rewards_granted", {}).values()) + int(stats.get("share_rewards_granted", 0))
    decided = stats.get("screenshots", {})
    checks = [
        Check("follows", _n(overview, "totals", "follows"), truth.members, "members recorded"),
        Check("unfollows", _n(overview, "totals", "unfollows"), truth.unfollowed, "members unfollowed"),
        Check("net follows", _n(overview, "totals", "net_follows"), truth.following, "members following"),
        Check("follow sources", len(overview.get("follows_by_source", {}))),
        Check("unfollow sources", len(overview.get("unfollows_by_source", {}))),
        Check("poster_sent (funnel)", steps.get("poster_sent", 0), int(stats.get("posters_sent", 0)), "posters sent"),
        Check("poster_scans (funnel)", steps.get("poster_scans", 0)),
        Check("poster_follows (funnel)", steps.get("poster_follows", 0)),
        # Analytics counts every credit and every revocation; the campaign's stats keep standing credits.
        Check(
            "credited − revoked", credited - revoked, int(stats.get("invites_credited", 0)), "standing invite credits"
        ),
        Check("credited (funnel)", steps.get("credited", 0), credited, "credited (overview)"),
        Check("revoked", revoked, int(stats.get("invites_revoked", 0)), "credits revoked"),
        Check("rewards", _n(overview, "totals", "rewards"), rewards, "tier + share rewards granted"),
        Check("campaign in the list", _n(listed, "poster_sent"), steps.get("poster_sent", 0), "its funnel"),
        Check(
            "screenshots decided",
            sum(_n(shots, "totals", outcome) for outcome in ("approved", "rejected", "queued")),
            sum(int(n) for n in decided.values()),
            "screenshots decided",
        ),
        # Each outcome as the campaign decided it (a small demo may have none of one, e.g. no review).
        *(
            Check(f"screenshots {outcome}", _n(shots, "totals", outcome), int(decided.get(status, 0)), status, True)
            for outcome, status in (("approved", "approved"), ("rejected", "rejected"), ("queued", "review"))
        ),
        Check("pushes delivered", _n(overview, "totals", "pushes_delivered"), truth.push_sent, "segments: sent"),
        Check("push delivered", _n(push, "totals", "delivered"), truth.push_sent, "segments: sent"),
        Check("push in the list", _n(pushed, "delivered"), truth.push_sent, "segments: sent"),
        Check("push clickers", _n(push, "totals", "clickers"), truth.push_clicks, "links opened"),
        Check("project delivered", _n(project, "totals", "delivered"), truth.push_sent, "segments: sent"),
        Check("project delivered (brands)", _n(progress, "delivered"), _n(project, "totals", "delivered"), "analytics"),
        Check("project clicks (brands)", _n(progress, "clicks"), _n(project, "totals", "clicks"), "analytics"),
        Check(
            "value delivered this month",
            _n(overview, "month", "project_delivered"),
            _n(progress, "delivered"),
            "brands: project",
        ),
        Check(
            "project by segment",
            _n(_row(project.get("by_segment"), "segment_id", truth.segment_id), "delivered"),
            truth.push_sent,
            "segments: sent",
        ),
        Check("coverage: tagged", _n(coverage, "tagged", "count"), truth.members_tagged, "profiles: tagged"),
        Check("coverage: following", _n(coverage, "following", "count"), truth.following, "members following"),
    ]
    return checks


@dataclass
class ValueRun:
    checks: list[Check]
    boards: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)

    def figure(self, *path: str) -> int:
        board, *rest = path
        return _n(self.boards.get(board, {}), *rest)


async def read_dashboards(
    analytics: httpx.AsyncClient, brands: httpx.AsyncClient, profiles: httpx.AsyncClient, truth: Truth
) -> dict[str, dict[str, Any]]:
    """Each dashboard's JSON (default range: the last 30 days), the project's progress and the tag
    coverage."""
    base = f"/accounts/{DEMO_APPID}/dashboards"
    routes = {
        "overview": f"{base}/overview",
        "campaigns": f"{base}/campaigns",
        "campaign": f"{base}/campaigns/{truth.campaign_id}",
        "screenshots": f"{base}/screenshots",
        "pushes": f"{base}/pushes",
        "push": f"{base}/pushes/{truth.push_id}",
        "project": f"{base}/projects/{truth.project_id}",
    }
    answers = await asyncio.gather(
        *(analytics.get(path) for path in routes.values()),
        brands.get(f"/projects/{truth.project_id}/progress"),
        profiles.get(f"/accounts/{DEMO_APPID}/profiles/coverage"),
    )
    boards: dict[str, dict[str, Any]] = {}
    for name, answer in zip([*routes, "progress", "coverage"], answers, strict=True):
        boards[name] = answer.json() if answer.status_code == 200 else {}
    return boards


async def wait_for_dashboards(
    analytics: httpx.AsyncClient, brands: httpx.AsyncClient, profiles: httpx.AsyncClient, truth: Truth
) -> ValueRun:
    """Reads the dashboards until every check passes (the rollups and the project's counters caught up
    with the events) or the time is up; the last reading either way."""
    deadline = time.monotonic() + _TIMEOUT_S
    while True:
        boards = await read_dashboards(analytics, brands, profiles, truth)
        run = ValueRun(dashboard_checks(boards, truth), boards)
        if run.ok or time.monotonic() > deadline:
            return run
        await asyncio.sleep(0.5)
