"""Tag coverage in a real browser against the running platform: a member follows in the WeChat
simulator and gets an ops tag; an analyst opens 标签覆盖 from the navigation, sees the tag's coverage,
the two charts drawn, switches to the 7-day preset and downloads the CSV."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.harness import ConsoleStack, assert_no_broken_links, console_lacks_page, screenshot, sign_in


def _follow(stack: ConsoleStack) -> str:
    """A new follower, through the simulator (so the gateway, members and profiles see a real follow)."""
    openid = "oBrowserCoverage" + uuid.uuid4().hex[:10]
    reply = httpx.post(f"{stack.urls['wechat-sim']}/sim/accounts/{stack.appid}/members/{openid}/follow", json={})
    assert reply.status_code < 300, reply.text
    return openid


def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.5)


def test_an_analyst_reads_tag_coverage(
    page: Page, browser_context: BrowserContext, console_stack: ConsoleStack
) -> None:
    openid = _follow(console_stack)
    sign_in(page, console_stack, "ops")
    base = f"{console_stack.console_url}/accounts/{console_stack.appid}"
    _until(lambda: browser_context.request.get(f"{base}/members/{openid}").status == 200, "the member never showed up")
    page.goto(f"{base}/members/{openid}")
    page.select_option("[data-testid=tag-code]", "interest.gear.stroller")
    page.click("[data-testid=tag-add]")
    expect(page.locator('[data-testid=tag-row][data-code="interest.gear.stroller"]')).to_be_visible()
    browser_context.clear_cookies()

    sign_in(page, console_stack, "analyst")
    # The profiles worker may apply the follow after the tag: the tag counts once the member follows there.
    counted = '<tr data-code="interest.gear.stroller">'
    _until(lambda: counted in browser_context.request.get(f"{base}/coverage").text(), "the tag never counted")
    page.goto(base)
    page.click("[data-nav=coverage]")
    page.wait_for_url("**/coverage")
    expect(page.locator("h1")).to_contain_text("标签覆盖")
    row = page.locator('[data-testid=coverage-tags] tr[data-code="interest.gear.stroller"]')
    expect(row).to_be_visible()
    expect(page.locator("[data-testid=coverage-bars] canvas")).to_have_count(1)
    expect(page.locator("[data-testid=coverage-lines] canvas")).to_have_count(1)
    screenshot(page, "tag-coverage", full_page=True)

    page.click("[data-testid=coverage-preset-7]")
    page.wait_for_url("**/coverage?from=*")
    expect(page.locator("[data-testid=coverage-preset-7]")).to_have_attribute("aria-current", "true")
    with page.expect_download() as download:
        page.click("[data-testid=coverage-export]")
    path = download.value.path()
    assert path is not None
    content = path.read_bytes()
    assert content.startswith("\ufeff".encode()) and b"interest.gear.stroller" in content
    assert_no_broken_links(page, unbuilt=console_lacks_page)
