"""The referral graph in a real browser against the running platform: two members who invited each
other across campaigns (edges arranged in MongoDB, as the worker writes them) show as a ring; a reviewer
opens 推荐关系图 from the navigation, freezes one of them and releases them, dismisses the ring's flag
(it stays dismissed); an admin downloads the CSV."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from playwright.sync_api import BrowserContext, Page, expect
from pymongo import MongoClient

from tests.browser.harness import ConsoleStack, assert_no_broken_links, console_lacks_page, screenshot, sign_in


def _ring(stack: ConsoleStack) -> tuple[str, str]:
    """Two members who follow (through the simulator: the members service knows them) and whose credits
    for each other, in two campaigns, are the graph's edges."""
    a, b = (f"oBrowserRing{name}{uuid.uuid4().hex[:8]}" for name in ("A", "B"))
    for openid in (a, b):
        reply = httpx.post(f"{stack.urls['wechat-sim']}/sim/accounts/{stack.appid}/members/{openid}/follow", json={})
        assert reply.status_code < 300, reply.text
    now = datetime.now(UTC)
    client: MongoClient[dict[str, Any]] = MongoClient(stack.env["MONGODB_URL"], tz_aware=True)
    try:
        edges = client[stack.env["MONGODB_DATABASE"]]["referral_edges"]
        for inviter, invitee, campaign, hours in ((a, b, "ringc1", 2), (b, a, "ringc2", 1)):
            edges.insert_one(
                {
                    "_id": f"{campaign}:{invitee}",
                    "appid": stack.appid,
                    "campaign_id": campaign,
                    "inviter": inviter,
                    "invitee": invitee,
                    "credited_at": now - timedelta(hours=hours),
                    "status": "credited",
                    "variant": None,
                    "unfollowed_at": None,
                    "interacted_at": None,
                }
            )
    finally:
        client.close()
    return a, b


def test_a_reviewer_freezes_a_member_of_a_ring_and_an_admin_exports_the_graph(
    page: Page, browser_context: BrowserContext, console_stack: ConsoleStack
) -> None:
    a, b = _ring(console_stack)
    sign_in(page, console_stack, "reviewer")
    base = f"{console_stack.console_url}/accounts/{console_stack.appid}"
    deadline = time.monotonic() + 60
    while not all(browser_context.request.get(f"{base}/members/{m}").status == 200 for m in (a, b)):
        assert time.monotonic() < deadline, "the members never showed up"
        time.sleep(0.5)
    page.goto(base)
    page.click("[data-nav=referrals]")
    page.wait_for_url("**/referrals")
    expect(page.locator("h1")).to_contain_text("推荐关系图")
    flag = page.locator("[data-testid=graph-flag]", has_text="跨活动互邀环")
    expect(flag).to_have_count(1)
    screenshot(page, "referral-graph", full_page=True)
    flag.locator("[data-testid=graph-freeze]").first.click()
    expect(page.locator("[data-testid=graph-frozen-list]")).to_be_visible()
    page.locator("[data-testid=graph-release]").first.click()
    expect(page.locator("[data-testid=graph-frozen-list]")).to_have_count(0)
    # Friends after all: dismissed with a note, the ring leaves the open flags and stays reviewed.
    flag.locator("input[name=note]").fill("同事互邀")
    flag.locator("[data-testid=graph-flag-dismiss]").click()
    expect(page.locator("[data-testid=graph-flag]", has_text="跨活动互邀环")).to_have_count(0)
    reviewed = page.locator("[data-testid=graph-flag-reviewed]", has_text="同事互邀")
    expect(reviewed).to_have_count(1)
    page.reload()
    expect(page.locator("[data-testid=graph-flag]", has_text="跨活动互邀环")).to_have_count(0)
    assert_no_broken_links(page, unbuilt=console_lacks_page)
    browser_context.clear_cookies()

    sign_in(page, console_stack, "admin")
    page.goto(f"{base}/referrals")
    with page.expect_download() as download:
        page.click("[data-testid=graph-export-csv]")
    path = download.value.path()
    assert path is not None
    content = path.read_bytes()
    assert content.startswith("\ufeff".encode()) and a.encode() in content
