"""Segments in a real browser: members follow on the simulated platform, an operator builds a segment in
the rule builder and watches its live size change as conditions are added, then saves it."""

from __future__ import annotations

import asyncio
import re

import httpx
from playwright.sync_api import Page, expect

from tests.browser.harness import ConsoleStack, run_async, screenshot, sign_in
from tests.e2e.campaign_stack import SimulatedMembers, create_operator, eventually

FOLLOWERS = ("o_seg_browser_1", "o_seg_browser_2")
RECENT = {"active_within_days": 7}


def _settled(page: Page) -> None:
    """Wait until htmx has swapped and wired what it received: a control clicked earlier than that
    (20 ms, faster than any person) would not be listened to yet."""
    page.wait_for_function(
        "() => window.htmx && !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )


def _size(page: Page) -> int:
    return int(page.locator("[data-testid=segment-size]").inner_text().replace(",", ""))


def _followers_indexed(stack: ConsoleStack) -> int:
    """Our followers reach the segments API's live index (gateway, Kafka, profiles, profile.changed);
    returns how many members were active in the last week then."""

    async def arrange() -> int:
        token = await asyncio.to_thread(
            create_operator,
            stack.env,
            "segments-browser",
            password="segments-browser-0",
            grants=[("admin", "*")],
            label="browser",
        )
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            httpx.AsyncClient(base_url=stack.urls["wechat-sim"], timeout=30) as sim,
            httpx.AsyncClient(base_url=stack.urls["segments-api"], headers=headers, timeout=30) as api,
        ):
            members = SimulatedMembers(sim)
            for openid in FOLLOWERS:
                await members.act(openid, "follow")

            async def indexed() -> int | None:
                answer = await api.post(
                    f"/accounts/{stack.appid}/segments/preview", json={"rule": RECENT, "sample": 200}
                )
                preview = answer.json()
                return preview["size"] if set(FOLLOWERS) <= set(preview["sample"]) else None

            size: int = await eventually(indexed, "the followers in the segments index", within=90)
            return size

    return run_async(arrange)


def test_building_a_segment_shows_its_size_change_as_conditions_are_added(
    page: Page, console_stack: ConsoleStack
) -> None:
    recent = _followers_indexed(console_stack)
    sign_in(page, console_stack, "pm")
    page.goto(f"{console_stack.console_url}/accounts/{console_stack.appid}/segments")
    page.click("[data-testid=new-segment]")
    expect(page.locator("[data-testid=preview-incomplete]")).to_have_count(0)  # nothing asked yet

    # The first condition becomes "active within the last N days": the builder re-renders its inputs.
    page.select_option("[data-testid='kind-r.0']", "active_within_days")
    _settled(page)
    days = page.locator("[data-testid='input-r.0-days']")
    expect(days).to_be_visible()
    days.fill("7")
    expect(page.locator("[data-testid=segment-size]")).to_have_text(f"{recent:,}")
    assert recent >= len(FOLLOWERS)
    expect(page.locator("[data-testid=preview-summary]")).to_contain_text("7")
    expect(page.locator("[data-testid=segment-reach]")).to_be_visible()  # whom a push would reach, and skip

    # And has consented to marketing: nobody who only followed has, so the size drops.
    page.click("[data-testid='add-condition-r']")
    expect(page.locator("[data-testid='kind-r.1']")).to_be_visible()
    _settled(page)
    page.select_option("[data-testid='kind-r.1']", "consent")
    expect(page.locator("[data-testid='input-r.1-value']")).to_be_visible()
    _settled(page)
    page.select_option("[data-testid='input-r.1-value']", "marketing")
    expect(page.locator("[data-testid=preview-summary]")).to_contain_text("营销消息")
    narrowed = _size(page)
    assert narrowed <= recent - len(FOLLOWERS)
    expect(page.locator("[data-testid=reach-no-consent]")).to_have_text("0")  # all of them consented now
    screenshot(page, "segment-builder")

    page.fill("[data-testid=segment-name]", "近7天活跃且同意营销")
    page.click("[data-testid=segment-save]")
    page.wait_for_url(re.compile(r"/segments/seg_[0-9a-f]+$"))
    expect(page.locator("[data-testid=segment-summary]")).to_contain_text("营销消息")
    expect(page.locator("[data-testid=segment-size] .tile-value")).to_have_text(f"{narrowed:,}")
    expect(page.locator("[data-testid=used-by-none]")).to_be_visible()

    # Why is a follower not in it: the consent condition does not hold for them.
    page.fill("[data-testid=explain-openid]", FOLLOWERS[0])
    page.press("[data-testid=explain-openid]", "Enter")
    expect(page.locator("[data-testid=explain-verdict]")).to_contain_text("不在此人群中")
    expect(page.locator("[data-testid=explain-tree] .why.held")).to_have_count(1)  # active within 7 days
    expect(page.locator("[data-testid=explain-tree] .why.not-held")).to_have_count(2)  # consent, so not all
    screenshot(page, "segment", full_page=True)
