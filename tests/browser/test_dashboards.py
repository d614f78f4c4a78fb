"""The dashboards in a real browser over the real platform (the analytics process among it): the account
overview over a typed date range against the period before, its charts drawn and a chart's CSV
downloaded, then the screenshot decisions and one push's results over the same range; a campaign's
funnel opened from its live page, narrowed with a preset, and found again under the campaign results.

The figures are arranged as rollup documents (:func:`tests.browser.harness.seed_rollups`, written as
the analytics worker writes them) on days and scopes of these tests' own: other tests' members act
today, and their events, when folded, never land there."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect
from pymongo import AsyncMongoClient

from services.campaigns.adapters.campaigns import MongoCampaignRepository
from services.campaigns.service_layer.management import NewCampaign, create_campaign
from services.console.domain.dashboards import beijing_today
from tests.browser.harness import (
    ConsoleStack,
    assert_no_broken_links,
    console_lacks_page,
    run_async,
    screenshot,
    seed_rollups,
    sign_in,
)

TODAY = beijing_today(datetime.now(UTC))


def day(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


def _campaign(stack: ConsoleStack, name: str) -> str:
    """A campaign of this test's own, written by the campaigns service's own repository."""

    async def work() -> str:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.env["MONGODB_URL"], tz_aware=True)
        try:
            now = datetime.now(UTC)
            new = NewCampaign(name=name, starts_at=now - timedelta(days=25), ends_at=now + timedelta(days=5))
            repository = MongoCampaignRepository(client[stack.env["MONGODB_DATABASE"]])
            return (await create_campaign(repository, stack.appid, new, now)).id
        finally:
            await client.close()

    return run_async(work)


def test_the_overview_compares_a_chosen_range_with_the_one_before(page: Page, console_stack: ConsoleStack) -> None:
    push_id = f"browserpush{uuid.uuid4().hex[:6]}"
    seed_rollups(
        console_stack,
        [
            ("account", day(45), {"follows": 7, "follows:poster": 4, "follows:campaign_code": 3}),
            ("account", day(45), {"unfollows": 2, "unfollows:poster": 2, "pushes_delivered": 300}),
            ("account", day(55), {"follows": 3, "follows:qr": 3, "pushes_delivered": 100}),  # the period before
            ("account", day(44), {"screenshots:approved": 5, "screenshots:rejected": 1, "screenshots:queued": 3}),
            ("account", day(44), {"screenshot_reason:blurry": 1, "review_wait:lt1h": 2, "review_wait:lt4h": 1}),
            (f"push:{push_id}", day(45), {"delivered": 36, "failed": 4, "failed:45015": 4, "clicks": 9}),
            (f"push:{push_id}", day(45), {"clickers": 8, "delivered:v:A": 20, "clickers:v:A": 5}),
            (f"push:{push_id}", day(45), {"delivered:v:B": 16, "clickers:v:B": 3}),
        ],
    )
    sign_in(page, console_stack, "analyst")
    page.goto(f"{console_stack.console_url}/accounts/{console_stack.appid}")
    expect(page.locator("[data-testid=tab-overview]")).to_have_attribute("aria-current", "page")
    expect(page.locator("[data-testid=preset-30d]")).to_have_attribute("aria-current", "true")

    page.fill("[data-testid=range-from]", day(50))
    page.fill("[data-testid=range-to]", day(41))
    page.click("[data-testid=range-apply]")
    page.wait_for_url(re.compile(re.escape(f"from={day(50)}&to={day(41)}")))
    expect(page.locator("[data-testid=range-compare]")).to_contain_text(f"{day(60)} – {day(51)}")
    expect(page.locator("[data-testid=tile-follows] .tile-value")).to_have_text("7")
    expect(page.locator("[data-testid=delta-follows]")).to_contain_text("+4 (+133.3%)")
    expect(page.locator("[data-testid=delta-unfollows]")).to_contain_text("+2")
    expect(page.locator("[data-testid=tile-net_follows] .tile-value")).to_have_text("5")
    expect(page.locator("[data-testid=delta-pushes_delivered]")).to_contain_text("+200 (+200.0%)")
    expect(page.locator("[data-testid=source-poster]")).to_contain_text("邀请海报")
    # The charts are drawn (ECharts, SVG) from the page's JSON block; the CSP allowed every script.
    for chart in ("followers", "net", "sources", "pushes"):
        expect(page.locator(f"[data-testid=chart-{chart}] svg")).to_be_attached()
    screenshot(page, "dashboard-overview", full_page=True)
    assert_no_broken_links(page, unbuilt=console_lacks_page)  # tabs, presets, every chart's CSV

    with page.expect_download() as download:
        page.click("[data-testid=csv-followers]")
    saved = download.value
    assert saved.suggested_filename == f"overview-daily_{console_stack.appid}_{day(50)}_{day(41)}.csv"
    lines = Path(saved.path()).read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "daily" and lines[1].startswith("day,follows,unfollows") and len(lines) == 2 + 10
    assert any(line.startswith(f"{day(45)},7,2,5,300") for line in lines)

    # The other dashboards keep the range: screenshot decisions, then push results down to one push.
    page.click("[data-testid=tab-screenshots]")
    expect(page.locator("[data-testid=tile-approval_rate] .tile-value")).to_have_text("83.3%")
    expect(page.locator("[data-testid=tile-submitted] .tile-value")).to_have_text("6")
    for chart in ("decisions", "rates"):
        expect(page.locator(f"[data-testid=chart-{chart}] svg")).to_be_attached()
    expect(page.locator("[data-testid=waits-table]")).to_contain_text("66.7%")
    screenshot(page, "dashboard-screenshots", full_page=True)
    page.click("[data-testid=tab-pushes]")
    row = page.locator(f"[data-testid=push-row-{push_id}]")
    expect(row).to_contain_text("45015 × 4")
    row.get_by_role("link", name=push_id).click()
    page.wait_for_url(re.compile(re.escape(f"/dashboards/pushes/{push_id}?from={day(50)}&to={day(41)}")))
    expect(page.locator("[data-testid=variant-results]")).to_contain_text("25.0%")
    screenshot(page, "dashboard-push", full_page=True)
    for chart in ("daily",):
        expect(page.locator(f"[data-testid=chart-{chart}] svg")).to_be_attached()

    page.click("[data-testid=preset-7d]")
    expect(page.locator("[data-testid=preset-7d]")).to_have_attribute("aria-current", "true")
    expect(page.locator("[data-testid=range-from]")).to_have_value(day(6))
    expect(page.locator("[data-testid=empty-push]")).to_be_visible()


def test_a_campaign_funnel_from_its_live_page(page: Page, console_stack: ConsoleStack) -> None:
    name = f"漏斗测试 {uuid.uuid4().hex[:6]}"
    campaign_id = _campaign(console_stack, name)
    scope = f"campaign:{campaign_id}"
    seed_rollups(
        console_stack,
        [
            (scope, day(20), {"poster_sent": 100, "poster_scans": 40, "poster_follows": 20, "credited": 10}),
            (scope, day(20), {"invitees_lost_7d": 2, "tier:1": 5, "tier:2": 2, "rewards": 6, "rewards:1": 5}),
            (scope, day(3), {"poster_sent": 50, "poster_scans": 10, "poster_follows": 5, "credited": 4}),
            (scope, day(45), {"poster_sent": 30, "credited": 1}),  # the period before the last 30 days
        ],
    )
    sign_in(page, console_stack, "ops")
    page.goto(f"{console_stack.console_url}/accounts/{console_stack.appid}/campaigns/{campaign_id}")
    page.click("[data-testid=funnel-dashboard]")
    page.wait_for_url(re.compile(re.escape(f"/dashboards/campaigns/{campaign_id}")))

    expect(page.locator("[data-testid=funnel-title]")).to_contain_text(name)
    expect(page.locator("[data-testid=step-poster_sent]")).to_contain_text("150")
    expect(page.locator("[data-testid=conversion-poster_scans]")).to_have_text("33.3%")
    expect(page.locator("[data-testid=conversion-credited]")).to_have_text("56.0%")
    expect(page.locator("[data-testid=retention-7d] .tile-value")).to_have_text("80.0%")
    for chart in ("funnel", "daily", "tiers", "rewards"):
        expect(page.locator(f"[data-testid=chart-{chart}] svg")).to_be_attached()
    screenshot(page, "dashboard-funnel", full_page=True)
    assert_no_broken_links(page, unbuilt=console_lacks_page)

    page.click("[data-testid=preset-7d]")  # only day 3: no invitee credited 7 days ago yet
    expect(page.locator("[data-testid=step-poster_sent]")).to_contain_text("50")
    expect(page.locator("[data-testid=retention-7d] .tile-value")).to_have_text("—")

    page.click("[data-testid=tab-campaigns]")
    row = page.locator(f"[data-testid=campaign-row-{campaign_id}]")
    expect(row).to_contain_text(name)
    row.get_by_role("link", name=name).click()
    page.wait_for_url(re.compile(re.escape(f"/dashboards/campaigns/{campaign_id}?from={day(6)}")))
