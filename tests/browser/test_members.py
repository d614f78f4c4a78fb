"""Members in a real browser against the running platform: a member follows in the WeChat simulator, an
operator finds them by openid with the keyboard, adds and removes an ops tag; an admin reveals the
personal data (an operator without member:reveal_pii has no such button)."""

from __future__ import annotations

import time
import uuid

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.harness import ConsoleStack, assert_no_broken_links, console_lacks_page, screenshot, sign_in


def _follow(stack: ConsoleStack) -> str:
    """A new follower (through the simulator, so the gateway, members and profiles see a real follow)."""
    openid = "oBrowserMember" + uuid.uuid4().hex[:12]
    sim = stack.urls["wechat-sim"]
    reply = httpx.post(f"{sim}/sim/accounts/{stack.appid}/members/{openid}/follow", json={})
    assert reply.status_code < 300, reply.text
    return openid


def _wait_for_member(context: BrowserContext, stack: ConsoleStack, openid: str) -> None:
    """Until the workers have recorded the follow (polled outside the page: a 404 there is expected)."""
    url = f"{stack.console_url}/accounts/{stack.appid}/members/{openid}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page = context.request.get(url)
        if page.status == 200:
            return
        time.sleep(0.5)
    raise AssertionError(f"{openid} never showed up in the console")


def test_find_a_member_and_edit_their_ops_tags(
    page: Page, browser_context: BrowserContext, console_stack: ConsoleStack
) -> None:
    openid = _follow(console_stack)
    sign_in(page, console_stack, "ops")
    _wait_for_member(browser_context, console_stack, openid)

    page.goto(f"{console_stack.console_url}/accounts/{console_stack.appid}/members")
    page.locator("body").press("/")  # the shortcut focuses the search box
    expect(page.locator("[data-testid=member-search]")).to_be_focused()
    page.keyboard.type(openid)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/members/{openid}")
    expect(page.locator("[data-testid=member-openid]")).to_have_text(openid)
    expect(page.locator("[data-testid=member-follow]")).to_be_visible()
    expect(page.locator("[data-testid=personal-masked]")).to_be_visible()
    expect(page.locator("[data-testid=reveal-pii]")).to_have_count(0)  # ops may not reveal

    page.select_option("[data-testid=tag-code]", "interest.toys")
    page.fill("#tag-weight", "2")
    page.click("[data-testid=tag-add]")
    row = page.locator('[data-testid=tag-row][data-code="interest.toys"][data-source="ops"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("2.00")
    expect(page.locator("[data-testid=member-history]")).to_contain_text("ops#")
    screenshot(page, "member-profile", full_page=True)
    assert_no_broken_links(page, unbuilt=console_lacks_page)

    page.once("dialog", lambda dialog: dialog.accept())  # "remove this tag?"
    row.locator("[data-testid=tag-remove]").click()
    expect(row).to_have_count(0)


def test_an_admin_reveals_personal_data_in_place(
    page: Page, browser_context: BrowserContext, console_stack: ConsoleStack
) -> None:
    openid = _follow(console_stack)
    sign_in(page, console_stack, "admin")
    _wait_for_member(browser_context, console_stack, openid)
    page.goto(f"{console_stack.console_url}/accounts/{console_stack.appid}/members/{openid}")
    url = page.url
    page.click("[data-testid=reveal-pii]")
    expect(page.locator("[data-testid=reveal-audited]")).to_be_visible()
    expect(page.locator("[data-testid=personal-revealed]")).to_be_visible()
    expect(page.locator("[data-testid=member-consents]")).to_be_visible()
    assert page.url == url  # swapped in place
