"""Issue 21 item 6 in a real browser: a draft is deleted from its page after confirming."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from tests.browser.harness import ConsoleStack, sign_in


def _beijing(moment: datetime) -> str:
    return (moment + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")


def test_a_draft_is_deleted_from_its_page(page: Page, console_stack: ConsoleStack) -> None:
    name = f"草稿 {uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)
    sign_in(page, console_stack, "ops")
    campaigns = f"{console_stack.console_url}/accounts/{console_stack.appid}/campaigns"
    page.goto(f"{campaigns}/new")
    page.get_by_test_id("campaign-name").fill(name)
    page.get_by_test_id("starts-at").fill(_beijing(now))
    page.get_by_test_id("ends-at").fill(_beijing(now + timedelta(days=7)))
    page.get_by_test_id("save-step").click()
    page.wait_for_url("**/setup/poster")
    campaign_id = re.search(r"/campaigns/([^/]+)/setup", page.url).group(1)  # type: ignore[union-attr]

    page.goto(f"{campaigns}/{campaign_id}")
    expect(page.get_by_test_id("archive")).to_have_count(0)  # only an ended campaign is archived
    page.get_by_test_id("delete-open").click()
    page.get_by_test_id("delete-confirm").check()
    page.get_by_test_id("delete").click()
    page.wait_for_url(re.compile(r"/campaigns$"))
    expect(page.get_by_text(name)).to_have_count(0)
