"""Brand projects and the business view in a real browser against the whole platform.

An account manager signs a brand and an active project; a project manager links a push to it in the
composer and sends it; the delivery travels the platform (segments' outbox, ``segments.deliveries``,
the brands worker) into the project's progress, its printable value report and its CSV. A sales head
opens the business view (ranking, overdue payments, the deal funnel, tiers, month and quarter) and
hands a brand over, confirmed and audited."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from shared.identity import SESSION_COOKIE
from tests.browser.harness import ConsoleStack, assert_no_broken_links, run_async, screenshot, sign_in
from tests.e2e.campaign_stack import SimulatedMembers, eventually

FORMULA = "interest.feeding.formula"
MEMBER = "o_browser_brand_1"
SEGMENT = "浏览器品牌项目人群"
TEXT = "浏览器测试：品牌项目推送"


def _beijing_today() -> str:
    return (datetime.now(UTC) + timedelta(hours=8)).date().isoformat()


async def _as_admin(stack: ConsoleStack) -> dict[str, str]:
    """Headers that call the operator APIs as the stack's admin (session cookie and CSRF token)."""
    admin = stack.operators["admin"]
    async with httpx.AsyncClient(base_url=stack.urls["identity-api"], timeout=30) as identity:
        signed = await identity.post("/auth/login", json={"name": admin.name, "password": admin.password})
        assert signed.status_code == 200, signed.text
    return {"X-CSRF-Token": signed.json()["csrf_token"], "Cookie": f"{SESSION_COOKIE}={signed.cookies[SESSION_COOKIE]}"}


async def _member_in_segment(stack: ConsoleStack) -> str:
    """A member who follows, consents to marketing and likes formula (the simulator and the H5 page),
    and a segment that holds them."""
    async with (
        httpx.AsyncClient(base_url=stack.urls["wechat-sim"], timeout=30) as sim,
        httpx.AsyncClient(timeout=30) as browser,
    ):
        members = SimulatedMembers(sim)
        await members.act(MEMBER, "follow")

        async def invitation() -> str | None:
            texts = [m["payload"]["content"] for m in await members.inbox(MEMBER) if m["msgtype"] == "text"]
            found = [link.group(1) for text in texts if (link := re.search(r'href="([^"]+)"', text))]
            return found[0] if found else None

        link: str = await eventually(invitation, f"the H5 invitation of {MEMBER}")
        due = (datetime.now(UTC) + timedelta(weeks=8)).date().isoformat()
        form = f"basis=due_date&on={due}&data_use=yes&interests={FORMULA}&marketing=yes"
        answer = await browser.post(
            link, content=form.encode(), headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        assert answer.status_code == 200, answer.text
    headers = await _as_admin(stack)
    async with httpx.AsyncClient(base_url=stack.urls["segments-api"], headers=headers, timeout=30) as api:
        base = f"/accounts/{stack.appid}/segments"
        created = await api.post(base, json={"name": SEGMENT, "rule": {"has_tag": FORMULA}})
        assert created.status_code == 201, created.text
        segment: dict[str, Any] = created.json()

        async def member_in() -> bool:
            why = await api.get(f"{base}/{segment['id']}/members/{MEMBER}")
            return why.status_code == 200 and bool(why.json()["in_segment"])

        await eventually(member_in, f"{MEMBER} in the segment")
    return str(segment["id"])


async def _team(stack: ConsoleStack, name: str, head: str, members: list[str]) -> None:
    """Teams are the admin's, through the brands API (the console has no team pages)."""
    headers = await _as_admin(stack)
    async with httpx.AsyncClient(base_url=stack.urls["brands"], headers=headers, timeout=30) as api:
        created = await api.post("/teams", json={"name": name, "head_id": head, "member_ids": members})
        assert created.status_code == 201, created.text


def _new_brand(page: Page, stack: ConsoleStack, name: str) -> str:
    page.goto(f"{stack.console_url}/brands")
    page.click("[data-testid=new-brand]")
    page.fill("[data-testid=brand-name]", name)
    page.fill("[data-testid=brand-industry]", "婴幼儿奶粉")
    page.click("[data-testid=save-brand]")
    page.wait_for_url(re.compile(r"/brands/[\w-]+\?done=brand_created"))
    expect(page.locator("[data-testid=brand-title]")).to_contain_text(name)
    return page.url.split("?")[0]


def test_a_projects_value_report_counts_the_pushes_linked_to_it(
    page: Page, browser_context: BrowserContext, console_stack: ConsoleStack
) -> None:
    stack = console_stack
    segment_id = run_async(lambda: _member_in_segment(stack))

    sign_in(page, stack, "brand-manager")
    assert page.url == f"{stack.console_url}/business"  # where an account manager starts
    brand_url = _new_brand(page, stack, "浏览器品牌甲")
    page.click("[data-testid=new-project]")
    page.fill("[data-testid=project-name]", "二段奶粉试用")
    page.select_option("[data-testid=project-appid]", stack.appid)
    page.fill("[data-testid=project-target]", "10")
    page.fill("[data-testid=project-price]", "5000")
    page.select_option("[data-testid=project-status]", "active")
    page.click("[data-testid=save-project]")
    page.wait_for_url(re.compile(r"/brands/projects/[\w-]+\?done=project_created"))
    project_url = page.url.split("?")[0]
    project_id = project_url.rsplit("/", 1)[1]
    expect(page.locator("[data-testid=tile-completion] .tile-value")).to_have_text("0.0%")

    # The project manager links a push to the project in the composer and sends it.
    browser_context.clear_cookies()
    sign_in(page, stack, "pm")
    page.goto(f"{stack.console_url}/accounts/{stack.appid}/pushes/new")
    page.fill("[data-testid=push-name]", "品牌项目推送")
    page.select_option("[data-testid=push-segment]", segment_id)
    page.select_option("[data-testid=push-project]", project_id)
    page.fill("[data-testid=variant-text]", TEXT)
    page.select_option("select[name=quiet]", "none")
    expect(page.locator("[data-testid=will-receive]")).not_to_have_text("0")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=send-push]")
    page.wait_for_url(re.compile(r"/pushes/push_[0-9a-f]+$"))
    expect(page.locator("[data-testid=push-project]")).to_contain_text("浏览器品牌甲 · 二段奶粉试用")
    expect(page.locator("[data-testid=push-numbers]")).to_have_attribute("data-status", "finished", timeout=60_000)

    # The delivery reaches the project: segments' outbox → segments.deliveries → the brands worker.
    browser_context.clear_cookies()
    sign_in(page, stack, "brand-manager")
    deadline = datetime.now(UTC) + timedelta(seconds=90)
    while True:
        page.goto(project_url)
        delivered = page.locator("[data-testid=tile-delivered] .tile-value").inner_text()
        if delivered == "1" or datetime.now(UTC) > deadline:
            break
        page.wait_for_timeout(1000)
    assert delivered == "1"
    expect(page.locator("[data-testid=tile-completion] .tile-value")).to_have_text("10.0%")
    expect(page.locator("[data-testid=by-push] tbody tr")).to_have_count(1)
    # Named though an account manager cannot read the segments API: the names came with the deliveries.
    expect(page.locator("[data-testid=by-push] tbody tr")).to_contain_text("品牌项目推送")
    expect(page.locator("[data-testid=by-segment] tbody tr")).to_contain_text(SEGMENT)
    expect(page.locator("#progress-chart canvas")).to_have_count(1)  # drawn by brands.js
    screenshot(page, "project-page", full_page=True)

    page.click("[data-testid=value-report]")
    page.wait_for_url(f"{project_url}/report")
    expect(page.locator("[data-testid=report-brand]")).to_have_text("浏览器品牌甲")
    expect(page.locator("[data-testid=report-project]")).to_have_text("二段奶粉试用")
    expect(page.locator("[data-testid=report-delivered]")).to_have_text("1")
    expect(page.locator("[data-testid=report-completion]")).to_have_text("10.0%")
    expect(page.locator("[data-testid=report-generated]")).to_contain_text(_beijing_today())
    expect(page.locator("[data-testid=report-by-day] tbody tr").first).to_be_visible()
    expect(page.locator("[data-testid=report-by-push] tbody td").first).to_have_text("品牌项目推送")  # no id on paper
    expect(page.locator("[data-testid=report-by-segment] tbody tr")).to_contain_text(SEGMENT)
    expect(page.locator("#progress-chart svg")).to_have_count(1)  # drawn as SVG: sharp on paper
    # Printed: no navigation, only the report.
    page.emulate_media(media="print")
    expect(page.locator(".sidebar")).to_be_hidden()
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.locator("[data-testid=print-report]")).to_be_hidden()
    expect(page.locator("[data-testid=report]")).to_be_visible()
    screenshot(page, "value-report", full_page=True)
    page.emulate_media(media="screen")

    with page.expect_download() as download:
        page.click("[data-testid=report-csv]")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.startswith("\ufeff") and "浏览器品牌甲" in text and "二段奶粉试用" in text
    assert "品牌项目推送,push_" in text and f"{SEGMENT}," in text

    page.goto(brand_url)
    assert_no_broken_links(page)


def test_a_sales_head_reads_the_business_view_and_hands_a_brand_over(
    page: Page, browser_context: BrowserContext, console_stack: ConsoleStack
) -> None:
    stack = console_stack
    run_async(lambda: _team(stack, "浏览器团队", "sales-head", ["brand-manager"]))

    sign_in(page, stack, "brand-manager")
    brand_url = _new_brand(page, stack, "浏览器品牌乙")
    page.click("#deals summary")
    page.select_option("#deals select[name=stage]", "proposal")
    page.fill("[data-testid=deal-value]", "80000")
    page.click("[data-testid=add-deal]")
    page.wait_for_url(re.compile(r"done=deal_created"))
    page.select_option("[data-testid=deal-stage]", "signed")
    page.click("[data-testid=move-deal-button]")
    page.wait_for_url(re.compile(r"done=deal_moved"))
    expect(page.locator("[data-testid=deal-row]")).to_have_attribute("data-stage", "signed")
    page.click("#payments summary")
    page.fill("[data-testid=payment-amount]", "20000")
    page.fill("[data-testid=payment-due]", (datetime.now(UTC) - timedelta(days=3)).date().isoformat())
    page.click("[data-testid=add-payment]")
    page.wait_for_url(re.compile(r"done=payment_created"))
    expect(page.locator("[data-testid=overdue]")).to_be_visible()
    screenshot(page, "brand-page", full_page=True)

    browser_context.clear_cookies()
    sign_in(page, stack, "sales-head")
    assert page.url == f"{stack.console_url}/business"
    expect(page.locator("[data-nav=business]")).to_have_attribute("aria-current", "page")
    expect(page.locator("[data-testid=manager-ranking]")).to_contain_text("brand-manager")
    expect(page.locator("[data-testid=team-figures]")).to_contain_text("浏览器团队")
    expect(page.locator("[data-testid=tile-overdue]")).to_have_class(re.compile("tile-danger"))
    expect(page.locator("[data-testid=payment-overdue]").filter(has_text="浏览器品牌乙")).to_have_count(1)
    expect(page.locator("[data-testid=funnel-table] tr[data-stage=signed] .num").first).not_to_have_text("0")
    expect(page.locator("#funnel-chart canvas")).to_have_count(1)
    expect(page.locator("[data-testid=tier-C]")).not_to_have_text("0")
    screenshot(page, "business-view", full_page=True)
    page.click("[data-testid=period-quarter]")
    expect(page.locator("[data-testid=period-label]")).to_have_text(re.compile(r"^\d{4}-Q[1-4]$"))
    page.click("[data-testid=period-previous]")
    expect(page.locator("[data-testid=period-label]")).to_have_text(re.compile(r"^\d{4}-Q[1-4]$"))
    page.click("[data-testid=period-month]")
    expect(page.locator("[data-testid=period-label]")).to_have_text(re.compile(r"^\d{4}-\d{2}$"))

    # The hand-over: to the head themself, with a reason, confirmed.
    page.goto(brand_url)
    page.select_option("[data-testid=handover-to]", label="sales-head")
    page.fill("[data-testid=handover-reason]", "客户经理休假")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-testid=handover-submit]")
    page.wait_for_url(re.compile(r"done=handed_over"))
    expect(page.locator("[data-testid=brand-owner]")).to_have_text("sales-head")
    expect(page.locator(".flash-success")).to_contain_text("移交")
    page.goto(f"{stack.console_url}/business")
    assert_no_broken_links(page)  # last: it follows the language switch too
