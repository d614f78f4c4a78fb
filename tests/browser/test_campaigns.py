"""A campaign made in a real browser against the real platform: the wizard from the basics to the
poster upload (the server's preview shown), tiers, generated coupon codes, rules, the wording check
and activation, ending on the live page with its funnel chart and join QR code."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image
from playwright.sync_api import Page, expect
from pymongo import AsyncMongoClient

from services.campaigns.adapters.referrals import MongoReferralStore
from services.campaigns.domain.participants import Participant
from tests.browser.harness import (
    ConsoleStack,
    assert_no_broken_links,
    console_lacks_page,
    run_async,
    screenshot,
    sign_in,
)


def _poster_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (750, 1334), (255, 236, 214)).save(buffer, format="PNG")
    return buffer.getvalue()


async def _participants_join(stack: ConsoleStack, campaign_id: str, at: datetime) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.env["MONGODB_URL"])
    try:
        store = MongoReferralStore(client[stack.env["MONGODB_DATABASE"]], None)
        for n, credited in enumerate((2, 1, 0)):
            await store.add_participant(
                Participant(
                    campaign_id, stack.appid, f"oBrowser{campaign_id[:6]}{n}", f"b{n}", at, "campaign_qr",
                    credited=credited, poster_sent_at=at,
                )
            )  # fmt: skip
    finally:
        await client.close()


def _beijing(moment: datetime) -> str:
    return (moment + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")


def test_a_campaign_operator_creates_and_activates_a_campaign_with_a_poster(
    page: Page, console_stack: ConsoleStack
) -> None:
    name = f"浏览器活动 {uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)
    sign_in(page, console_stack, "ops")
    page.goto(f"{console_stack.console_url}/accounts/{console_stack.appid}/campaigns")
    expect(page.get_by_test_id("new-campaign")).to_be_visible()
    page.keyboard.press("n")  # the list's shortcut for the wizard
    page.wait_for_url("**/campaigns/new")

    # 1. Basics, in Beijing time.
    page.get_by_test_id("campaign-name").fill(name)
    page.get_by_test_id("starts-at").fill(_beijing(now - timedelta(hours=1)))
    page.get_by_test_id("ends-at").fill(_beijing(now + timedelta(days=14)))
    page.get_by_test_id("join-keywords").fill(f"邀请{uuid.uuid4().hex[:4]}")
    page.get_by_test_id("save-step").click()

    # 2. The poster: uploaded, then drawn by the server for a sample member.
    page.wait_for_url("**/setup/poster")
    page.get_by_test_id("poster-file").set_input_files(
        {"name": "poster.png", "mimeType": "image/png", "buffer": _poster_png()}
    )
    page.get_by_test_id("save-poster").click()
    expect(page.get_by_test_id("poster-saved")).to_be_visible()
    preview = page.get_by_test_id("poster-preview")
    expect(preview).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth === 750", arg=preview.element_handle())
    screenshot(page, "campaign-poster", full_page=True)
    page.get_by_test_id("next-step").click()

    # 3. Tiers and texts: the first tier (3 invites from pool A) as offered.
    page.wait_for_url("**/setup/tiers")
    expect(page.get_by_test_id("tier-row")).to_have_count(1)
    welcome = page.locator("#messages_welcome")
    offered = welcome.input_value()
    welcome.fill("转发到朋友圈即可领取奖励！")  # checked as it is typed, nothing saved
    expect(page.get_by_test_id("flag-block")).to_be_visible()
    welcome.fill(offered)
    expect(page.get_by_test_id("wording-clean")).to_be_visible()
    page.get_by_test_id("save-step").click()

    # 4. Coupon codes: generated for pool A; the stock shows them.
    page.wait_for_url("**/setup/pools")
    page.get_by_test_id("generate-count-A").fill("20")
    page.get_by_test_id("generate-codes-A").click()
    expect(page.get_by_test_id("codes-result")).to_be_visible()
    expect(page.get_by_test_id("pool-A").get_by_test_id("pool-remaining")).to_have_text("20")
    page.get_by_test_id("next-step").click()

    # 5. Rules as they are; 6. the wording check (the default texts pass).
    page.wait_for_url("**/setup/rules")
    page.get_by_test_id("save-step").click()
    page.wait_for_url("**/setup/compliance")
    expect(page.get_by_test_id("wording-summary")).to_be_visible()
    if page.get_by_test_id("acknowledge-warnings").count():
        page.get_by_test_id("acknowledge-warnings").check()
    page.get_by_test_id("save-step").click()

    # 7. Review, activate: the live page.
    page.wait_for_url("**/setup/review**")
    expect(page.get_by_test_id("activation-ready")).to_be_visible()  # the API's check: nothing blocks it
    expect(page.get_by_test_id("activation-warnings")).to_have_count(0)  # pool A has codes
    page.get_by_test_id("activate").click()
    page.wait_for_url(re.compile(r"/campaigns/[^/?]+$"))
    expect(page.get_by_test_id("campaign-title")).to_contain_text(name)
    expect(page.get_by_test_id("campaign-status").locator(".badge-active")).to_be_visible()
    expect(page.get_by_test_id("kpi-participants")).to_be_visible()
    expect(page.get_by_test_id("funnel-table")).to_contain_text("已发海报")  # no poster yet: the table, no chart
    page.get_by_test_id("show-join-qr").click()
    expect(page.get_by_test_id("join-qr").locator("img")).to_be_visible()
    assert_no_broken_links(page, unbuilt=console_lacks_page)

    # Members join (as the worker records them): the funnel is drawn, and the figures refresh by themselves.
    campaign_id = page.url.rstrip("/").rsplit("/", 1)[1]
    run_async(lambda: _participants_join(console_stack, campaign_id, now))
    page.reload()
    expect(page.get_by_test_id("kpi-participants")).to_contain_text("3")
    expect(page.get_by_test_id("funnel-chart").locator("svg")).to_be_visible()
    expect(page.get_by_test_id("leaderboard")).to_be_visible()
    with page.expect_response(lambda response: response.url.endswith("/numbers"), timeout=25_000) as refreshed:
        pass
    assert refreshed.value.ok
    expect(page.get_by_test_id("funnel-chart").locator("svg")).to_be_visible()
    screenshot(page, "campaign-live", full_page=True)
    page.get_by_test_id("participant-search").fill(f"oBrowser{campaign_id[:6]}2")
    expect(page.get_by_test_id("participants").locator("tbody tr")).to_have_count(1)

    # The list shows it, active.
    page.goto(f"{console_stack.console_url}/accounts/{console_stack.appid}/campaigns?status=active")
    expect(page.get_by_test_id("campaign-list")).to_contain_text(name)
