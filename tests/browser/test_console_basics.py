"""The console's foundation in a real browser: signing in and out, what each role's navigation shows,
the English switch, and pages without console errors or broken links."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from services.console.domain.navigation import ADMIN_SECTIONS, BUSINESS_SECTIONS, SECTIONS
from shared.identity import SESSION_COOKIE
from tests.browser.harness import (
    ConsoleStack,
    PageProblems,
    assert_no_broken_links,
    console_lacks_page,
    screenshot,
    sign_in,
)

EVERY_SECTION = [section.key for section in SECTIONS]
EVERY_BUSINESS_SECTION = [section.key for section in BUSINESS_SECTIONS]
EVERY_ADMIN_SECTION = [section.key for section in ADMIN_SECTIONS]


def _nav(page: Page) -> list[str]:
    keys: list[str] = page.eval_on_selector_all("[data-nav]", "links => links.map(link => link.dataset.nav)")
    return keys


def test_a_wrong_password_shows_the_error_and_nothing_else(
    page: Page, console_stack: ConsoleStack, page_problems: PageProblems
) -> None:
    page_problems.allow(r"status of 401 \(Unauthorized\)")  # the refused form answers 401, as it should
    page.goto(f"{console_stack.console_url}/login")
    screenshot(page, "sign-in")
    page.fill("input[name=name]", "admin")
    page.fill("input[name=password]", "not-the-password-0")
    page.click("form button[type=submit]")
    expect(page.get_by_text("用户名或密码错误。")).to_be_visible()
    assert page.url.endswith("/login")
    assert page.input_value("input[name=name]") == "admin"
    assert page.input_value("input[name=password]") == ""
    body = page.content()
    assert "Traceback" not in body and "Internal Server Error" not in body
    assert page.locator("[data-nav]").count() == 0


def test_the_admin_sees_every_section_and_the_administration(
    page: Page, console_stack: ConsoleStack, page_problems: PageProblems
) -> None:
    sign_in(page, console_stack, "admin")
    assert page.url == f"{console_stack.console_url}/accounts/{console_stack.appid}"
    assert _nav(page) == EVERY_SECTION + EVERY_BUSINESS_SECTION + EVERY_ADMIN_SECTION
    expect(page.locator("#account-switch")).to_have_value(console_stack.appid)
    expect(page.locator(".who")).to_have_text("admin")
    screenshot(page, "overview")


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("reviewer", ["overview", "campaigns", "referrals", "review", "members", "coverage"]),
        ("analyst", ["overview", "campaigns", "referrals", "members", "coverage", "segments", "pushes"]),
    ],
)
def test_an_operator_sees_only_what_the_role_may_do(
    page: Page, console_stack: ConsoleStack, name: str, shown: list[str]
) -> None:
    sign_in(page, console_stack, name)
    assert _nav(page) == shown  # no pushes for a reviewer, no administration for either
    assert page.get_by_text("管理", exact=True).count() == 0
    # Hiding is for clarity; the server refuses the hidden pages (those built so far; the others 404).
    hidden = [f"/accounts/{console_stack.appid}{s.path}" for s in SECTIONS if s.key not in shown]
    for path in hidden + [section.path for section in ADMIN_SECTIONS]:
        answer = page.request.get(f"{console_stack.console_url}{path}", max_redirects=0)
        assert answer.status == (404 if console_lacks_page(path) else 403), path


def test_signing_out_ends_the_session_and_back_shows_no_data(
    page: Page, browser_context: BrowserContext, console_stack: ConsoleStack
) -> None:
    sign_in(page, console_stack, "admin")
    overview = page.url
    secret = next(c["value"] for c in browser_context.cookies() if c["name"] == SESSION_COOKIE)
    page.click("[data-testid=sign-out]")
    page.wait_for_url(f"{console_stack.console_url}/login")
    assert SESSION_COOKIE not in {c["name"] for c in browser_context.cookies()}
    page.go_back()
    assert page.url.startswith(f"{console_stack.console_url}/login")
    assert page.locator("[data-nav]").count() == 0 and "admin" not in page.locator("body").inner_text()
    page.goto(overview)
    assert page.url.startswith(f"{console_stack.console_url}/login")
    # The session ended on the server too: its cookie, replayed, no longer works.
    replayed = httpx.get(
        f"{console_stack.urls['identity-api']}/auth/me", headers={"Cookie": f"{SESSION_COOKIE}={secret}"}
    )
    assert replayed.status_code == 401


def test_switching_to_english_changes_the_visible_strings(page: Page, console_stack: ConsoleStack) -> None:
    sign_in(page, console_stack, "admin")
    expect(page.locator("[data-nav=campaigns]")).to_contain_text("任务宝活动")
    page.click("[data-lang-switch]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("[data-nav=campaigns]")).to_contain_text("Campaigns")
    expect(page.locator("[data-testid=sign-out]")).to_have_text("Sign out")
    assert page.url == f"{console_stack.console_url}/accounts/{console_stack.appid}"  # the same page
    screenshot(page, "overview-en")
    page.click("[data-lang-switch]")  # and back
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")


@pytest.mark.parametrize("name", ["admin", "ops", "reviewer", "pm", "analyst"])
def test_the_pages_that_exist_have_no_console_errors_or_broken_links(
    page: Page, console_stack: ConsoleStack, name: str
) -> None:
    page.goto(f"{console_stack.console_url}/login")
    assert_no_broken_links(page, unbuilt=console_lacks_page)
    sign_in(page, console_stack, name)
    checked = assert_no_broken_links(page, unbuilt=console_lacks_page)
    assert f"{console_stack.console_url}/" in checked
    page.goto(f"{console_stack.console_url}/")  # the home page sends each role to its first section
    assert page.url.startswith(f"{console_stack.console_url}/accounts/{console_stack.appid}")
