"""Administration in a real browser: an admin creates an operator, grants a role, and reads it in the
audit log with its before/after."""

from __future__ import annotations

import re
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


def test_a_new_token_is_shown_once_and_a_reload_makes_no_second_one(
    page: Page, browser_context: BrowserContext, console_stack: ConsoleStack
) -> None:
    console = console_stack.console_url
    label = f"browser-token-{int(time.time() * 1000) % 10**8}"
    sign_in_via_api(browser_context, console_stack, "admin")
    page.goto(f"{console}/admin/tokens")
    page.get_by_test_id("token-operator").select_option(label="analyst")
    page.get_by_test_id("token-label").fill(label)
    page.get_by_test_id("scope-campaign:view").check()
    page.get_by_test_id("token-days").fill("7")
    page.get_by_test_id("create-token-submit").click()
    secret = page.get_by_test_id("token-secret")
    expect(secret).to_have_value(re.compile(r"^scrm_"))
    whole = secret.input_value()
    page.get_by_test_id("copy-token").click()
    expect(page.get_by_test_id("copy-token")).to_have_text("已复制")
    assert page.url == f"{console}/admin/tokens"  # the address no longer names the POST

    page.reload()
    expect(page.get_by_test_id("token-created")).to_have_count(0)
    assert whole not in page.content()
    expect(page.get_by_test_id("tokens").locator("tr", has_text=label)).to_have_count(1)
    me = page.request.get(f"{console_stack.urls['identity-api']}/auth/me", headers={"Authorization": f"Bearer {whole}"})
    assert me.ok and me.json()["name"] == "analyst" and me.json()["scopes"] == ["campaign:view"]


def test_disabling_asks_first_and_the_operator_is_signed_out(
    page: Page, browser_context: BrowserContext, console_stack: ConsoleStack
) -> None:
    console = console_stack.console_url
    name = f"browser-off-{int(time.time() * 1000) % 10**8}"
    sign_in_via_api(browser_context, console_stack, "admin")
    page.goto(f"{console}/admin/operators")
    page.get_by_test_id("kind-service").check()
    expect(page.get_by_test_id("operator-password")).to_be_hidden()
    page.get_by_test_id("operator-name").fill(name)
    page.get_by_test_id("create-operator-submit").click()
    page.wait_for_url("**/admin/operators?done=operator_created*")
    row = page.get_by_test_id(f"operator-{name}")
    expect(row).to_contain_text("服务账号")

    page.once("dialog", lambda dialog: dialog.dismiss())
    row.get_by_test_id("disable").click()
    expect(row).to_contain_text("已启用")  # dismissed: nothing sent
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_test_id("disable").click()
    page.wait_for_url("**/admin/operators?done=operator_disabled*")
    expect(page.get_by_test_id(f"operator-{name}")).to_contain_text("已停用")
