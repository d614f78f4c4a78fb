"""Pushes in a real browser against the whole platform: a campaign operator composes a draft (the
eligibility breakdown follows the form) but cannot send it, not even by posting past the hidden button;
a project manager sends it and the member finds it in the simulator's inbox."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from shared.identity import SESSION_COOKIE
from tests.browser.harness import ConsoleStack, run_async, screenshot, sign_in
from tests.e2e.campaign_stack import SimulatedMembers, eventually

FORMULA = "interest.feeding.formula"
MEMBER = "o_browser_push_1"
TEXT = "浏览器测试：奶粉新品试用"


async def _member_in_segment(stack: ConsoleStack) -> str:
    """A member who follows, consents to marketing and likes formula (through the simulator and the H5
    page, as in the push e2e test), and a segment of formula lovers that holds them."""
    async with (
        httpx.AsyncClient(base_url=stack.urls["wechat-sim"], timeout=30) as sim,
        httpx.AsyncClient(timeout=30) as browser,
        httpx.AsyncClient(base_url=stack.urls["identity-api"], timeout=30) as identity,
    ):
        members = SimulatedMembers(sim)
        await members.act(MEMBER, "follow")

        async def invitation() -> str | None:
            texts = [m["payload"]["content"] for m in await members.inbox(MEMBER) if m["msgtype"] == "text"]
            found = [link.group(1) for text in texts if (link := re.search(r'href="([^"]+)"', text))]
            return found[0] if found else None

        link: str = await eventually(invitation, f"the H5 invitation of {MEMBER}")
        due = (datetime.now(UTC) + timedelta(weeks=5)).date().isoformat()
        form = f"basis=due_date&on={due}&data_use=yes&interests={FORMULA}&marketing=yes"
        answer = await browser.post(
            link, content=form.encode(), headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert answer.status_code == 200, answer.text

        admin = stack.operators["admin"]
        signed = await identity.post("/auth/login", json={"name": admin.name, "password": admin.password})
        assert signed.status_code == 200, signed.text
        session = f"{SESSION_COOKIE}={signed.cookies[SESSION_COOKIE]}"
        headers = {"X-CSRF-Token": signed.json()["csrf_token"], "Cookie": session}
        async with httpx.AsyncClient(base_url=stack.urls["segments-api"], headers=headers, timeout=30) as api:
            base = f"/accounts/{stack.appid}/segments"
            created = await api.post(base, json={"name": "浏览器推送测试", "rule": {"has_tag": FORMULA}})
            assert created.status_code == 201, created.text
            segment: dict[str, Any] = created.json()

            async def member_in() -> bool:
                why = await api.get(f"{base}/{segment['id']}/members/{MEMBER}")
                return why.status_code == 200 and bool(why.json()["in_segment"])

            await eventually(member_in, f"{MEMBER} in the segment")
        return str(segment["id"])


async def _inbox(stack: ConsoleStack) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=stack.urls["wechat-sim"], timeout=30) as sim:
        return list(await SimulatedMembers(sim).inbox(MEMBER))


def _compose(page: Page, stack: ConsoleStack, segment_id: str) -> None:
    page.goto(f"{stack.console_url}/accounts/{stack.appid}/pushes/new")
    page.fill("[data-testid=push-name]", "浏览器测试推送")
    page.select_option("[data-testid=push-segment]", segment_id)
    page.fill("[data-testid=variant-text]", TEXT)
    page.select_option("select[name=quiet]", "none")  # whatever the hour in Beijing, it goes now
    # The breakdown follows the form: the member is counted among those who would receive it.
    expect(page.locator("[data-testid=will-receive]")).not_to_have_text("0")
    expect(page.locator("[data-step=not_following]")).to_be_visible()
    expect(page.locator("[data-testid=preview-A] .bubble")).to_have_text(TEXT)


def test_an_operator_drafts_and_a_project_manager_sends_to_the_simulator(
    page: Page, browser_context: BrowserContext, console_stack: ConsoleStack
) -> None:
    stack = console_stack
    segment_id = run_async(lambda: _member_in_segment(stack))

    sign_in(page, stack, "ops")
    _compose(page, stack, segment_id)
    assert page.locator("[data-testid=send-push]").count() == 0  # a campaign operator composes only
    screenshot(page, "push-composer", full_page=True)
    page.click("[data-testid=save-draft]")
    page.wait_for_url(re.compile(r"/pushes/push_[0-9a-f]+$"))
    push_url = page.url
    expect(page.locator("[data-testid=push-title] .badge")).to_have_text("草稿")
    assert page.locator("[data-testid=send-draft]").count() == 0
    # Posting the send anyway: the server refuses it (the API's 403), the draft stays a draft.
    csrf = page.get_attribute("meta[name=csrf-token]", "content") or ""
    refused = page.request.post(f"{push_url}/send", headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
    assert refused.headers.get("x-status") == "403", refused.text()
    assert "push:send" in refused.text()
    page.reload()
    expect(page.locator("[data-testid=push-title] .badge")).to_have_text("草稿")

    browser_context.clear_cookies()
    sign_in(page, stack, "pm")
    page.goto(f"{push_url}/edit")
    expect(page.locator("[data-testid=will-receive]")).not_to_have_text("0")
    page.once("dialog", lambda dialog: dialog.accept())  # "send this push to the segment?"
    page.click("[data-testid=send-push]")
    page.wait_for_url(push_url)
    # The numbers refresh by themselves while it sends.
    expect(page.locator("[data-testid=tile-sent] .tile-value")).not_to_have_text("0", timeout=60_000)
    expect(page.locator("[data-testid=push-numbers]")).to_have_attribute("data-status", "finished", timeout=60_000)
    page.reload()
    inbox_link = page.locator(f"[data-testid=sim-inbox][href$='/members/{MEMBER}/inbox']")
    expect(inbox_link).to_have_count(1)
    screenshot(page, "push-page", full_page=True)

    messages = run_async(lambda: _inbox(stack))
    assert [m for m in messages if TEXT in str(m["payload"].get("content", ""))], messages
