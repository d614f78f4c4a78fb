"""Administration in a real browser: an admin creates an operator, grants a role, and reads it in the
audit log with its before/after."""

from __future__ import annotations

import time

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.harness import ConsoleStack, assert_no_broken_links, screenshot, sign_in_via_api


def test_an_admin_creates_an_operator_grants_a_role_and_sees_it_audited(
    page: Page, browser_context: BrowserContext, console_stack: ConsoleStack
) -> None:
    console = console_stack.console_url
    name = f"browser-op-{int(time.time() * 1000) % 10**8}"
    sign_in_via_api(browser_context, console_stack, "admin")

    page.goto(f"{console}/admin/operators")
    expect(page.get_by_test_id("permission-matrix")).to_be_visible()
    page.get_by_test_id("operator-name").fill(name)
    page.get_by_test_id("operator-password").fill("a-long-enough-password-1")
    page.get_by_test_id("create-operator-submit").click()
    page.wait_for_url("**/admin/operators?done=operator_created*")
    row = page.get_by_test_id(f"operator-{name}")
    expect(row).to_contain_text("已启用")
    op_id = (row.get_attribute("id") or "").removeprefix("op-")
    assert op_id

    row.get_by_test_id(f"add-grant-{name}").click()
    row.get_by_test_id("grant-role").select_option("reviewer")
    row.get_by_test_id("grant-account").select_option(console_stack.appid)
    row.get_by_test_id("grant-submit").click()
    page.wait_for_url("**/admin/operators?done=grant_added*")
    expect(
        page.get_by_test_id(f"operator-{name}").get_by_test_id(f"grant-reviewer-{console_stack.appid}")
    ).to_be_visible()

    page.get_by_role("link", name="审计日志").click()
    page.get_by_test_id("filter-action").fill("grant.added")
    page.get_by_test_id("filter-object-id").fill(op_id)
    page.get_by_test_id("filter-submit").click()
    page.wait_for_url("**/admin/audit?*action=grant.added*")
    expect(page.get_by_test_id("audit-entry")).to_have_count(1)
    entry = page.get_by_test_id("audit-entry")
    expect(entry).to_contain_text("admin")
    expect(entry).to_contain_text(op_id)
    entry.locator("summary").click()
    diff = entry.get_by_test_id("audit-diff")
    expect(diff).to_be_visible()
    expect(diff).to_contain_text("role")
    expect(diff).to_contain_text("reviewer")
    screenshot(page, "admin-audit")
    assert_no_broken_links(page)
