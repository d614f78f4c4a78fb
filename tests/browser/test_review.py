"""The review desk in a real browser, on the real platform: a reviewer goes through a campaign's queue
with the keyboard only (S starts, A approves, R then a digit then Enter rejects, Esc goes back), the
desk swapping to the next item in place."""

from __future__ import annotations

import io
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from PIL import Image, ImageDraw
from playwright.sync_api import Page, expect
from pymongo import AsyncMongoClient

from services.campaigns.adapters.campaigns import MongoCampaignRepository
from services.campaigns.adapters.share_screenshots import MongoShareScreenshots
from services.campaigns.domain.submissions import SubmissionRecord
from services.campaigns.service_layer.management import NewCampaign, create_campaign
from services.screenshots import Fingerprint
from tests.browser.harness import ConsoleStack, run_async, screenshot, sign_in


def _picture(colour: str) -> bytes:
    image = Image.new("RGB", (540, 960), colour)
    ImageDraw.Draw(image).rectangle((60, 200, 480, 700), outline="black", width=6)
    out = io.BytesIO()
    image.save(out, "JPEG")
    return out.getvalue()


def _database(stack: ConsoleStack) -> AsyncMongoClient[dict[str, Any]]:
    return AsyncMongoClient(stack.env["MONGODB_URL"], tz_aware=True)


def _arrange(stack: ConsoleStack) -> tuple[str, list[str]]:
    """A campaign of this test's own with two screenshots in review, written by the campaigns service's
    own repositories (as the worker leaves them: status review, picture kept)."""
    suffix = uuid.uuid4().hex[:8]

    async def work() -> tuple[str, list[str]]:
        client = _database(stack)
        try:
            database = client[stack.env["MONGODB_DATABASE"]]
            now = datetime.now(UTC)
            new = NewCampaign(
                name=f"晒图审核 {suffix}",
                starts_at=now,
                ends_at=now + timedelta(days=7),
                share_screenshot_task=True,
                share_reward_pool="S",
            )
            campaign = await create_campaign(MongoCampaignRepository(database), stack.appid, new, now)
            shots = MongoShareScreenshots(database)
            ids = []
            for n, (minutes, colour) in enumerate(((40, "#ffeedd"), (10, "#ddeeff"))):
                at = now.replace(microsecond=0) - timedelta(minutes=minutes)
                record = SubmissionRecord(
                    id=f"{stack.appid}:browser-{suffix}-{n}",
                    campaign_id=campaign.id,
                    appid=stack.appid,
                    openid=f"o_browser_{suffix}_{n}",
                    received_at=at,
                    status="review",
                    decision="review",
                    reasons=["possibly_reused"],
                    evidence={"qr": "own", "boxes": {}, "moments_checked": True, "time_word": "5分钟前"},
                    fingerprint=Fingerprint(f"sha-{suffix}-{n}", None),
                    decided_by="auto",
                    decided_at=at,
                )
                assert await shots.add(record)
                await shots.keep_image(record.id, _picture(colour), "image/jpeg")
                ids.append(record.id)
            return campaign.id, ids
        finally:
            await client.close()

    return run_async(work)


def _settled(stack: ConsoleStack, ids: list[str]) -> list[SubmissionRecord | None]:
    async def work() -> list[SubmissionRecord | None]:
        client = _database(stack)
        try:
            shots = MongoShareScreenshots(client[stack.env["MONGODB_DATABASE"]])
            return [await shots.get(submission) for submission in ids]
        finally:
            await client.close()

    return run_async(work)


def test_a_reviewer_approves_one_and_rejects_one_with_the_keyboard(page: Page, console_stack: ConsoleStack) -> None:
    campaign_id, (first, second) = _arrange(console_stack)
    reviewer = console_stack.operators["reviewer"]
    sign_in(page, console_stack, "reviewer")
    queue = f"{console_stack.console_url}/accounts/{console_stack.appid}/review?campaign_id={campaign_id}"
    page.goto(queue)
    expect(page.locator("[data-testid=queue-row]")).to_have_count(2)
    expect(page.locator("[data-testid=overdue]")).to_have_count(1)  # 40 minutes: past the service level
    screenshot(page, "review-queue")

    page.keyboard.press("s")  # claims the oldest and opens the desk
    page.wait_for_url(re.compile(re.escape(f"/review/{first}")))
    expect(page.locator("[data-testid=claim-mine]")).to_be_visible()
    expect(page.locator("[data-testid=desk-picture] img")).to_be_visible()
    screenshot(page, "review-desk", full_page=True)

    page.keyboard.press("a")
    expect(page.locator(f'[data-desk][data-submission="{second}"]')).to_be_attached()
    expect(page.locator("#desk .flash-success")).to_contain_text("已通过")
    assert page.url.endswith(f"/review/{second}?campaign_id={campaign_id}")  # the address follows the item

    page.keyboard.press("r")  # focuses the reasons; a digit picks one, Enter rejects
    position = page.eval_on_selector_all(
        "[data-reasons] input[type=radio]", "radios => radios.findIndex(r => r.value === 'private_post') + 1"
    )
    assert 1 <= position <= 9
    page.keyboard.press(str(position))
    expect(page.locator("[data-testid=reason-private_post]")).to_be_checked()
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid=desk-empty]")).to_be_visible()
    expect(page.locator("#desk .flash-success")).to_contain_text("已拒绝")

    page.keyboard.press("Escape")
    page.wait_for_url(queue)
    expect(page.locator("[data-testid=queue-empty]")).to_be_visible()

    approved, rejected = _settled(console_stack, [first, second])
    assert approved is not None and approved.status == "approved" and approved.decided_by == reviewer.name
    assert rejected is not None and rejected.status == "rejected" and rejected.review_reason == "private_post"
