"""The review queue's labelled export in a real browser, on the real platform: a reviewer downloads
the decided items of a campaign as a zip (the campaigns API builds it, checks ``screenshot:export``
and audits it; the console passes it through)."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from PIL import Image
from playwright.sync_api import Page, expect
from pymongo import AsyncMongoClient

from services.campaigns.adapters.campaigns import MongoCampaignRepository
from services.campaigns.adapters.referrals import MongoReferralStore
from services.campaigns.adapters.share_screenshots import MongoShareScreenshots
from services.campaigns.adapters.templates import MongoTemplateStore, inspect_image
from services.campaigns.domain.campaign import QrBox
from services.campaigns.domain.participants import Participant
from services.campaigns.domain.submissions import SubmissionRecord
from services.campaigns.service_layer.management import NewCampaign, TemplateLayout, create_campaign, upload_template
from services.screenshots import Decision, Fingerprint
from tests.browser.harness import ConsoleStack, run_async, sign_in


def _jpeg(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (540, 960), colour).save(out, "JPEG")
    return out.getvalue()


def _arrange(stack: ConsoleStack) -> str:
    """A campaign with a poster template and two screenshots a reviewer decided (pictures kept)."""
    suffix = uuid.uuid4().hex[:8]

    async def work() -> str:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack.env["MONGODB_URL"], tz_aware=True)
        try:
            database = client[stack.env["MONGODB_DATABASE"]]
            now = datetime.now(UTC).replace(microsecond=0)
            campaigns = MongoCampaignRepository(database)
            new = NewCampaign(
                name=f"晒图导出 {suffix}",
                starts_at=now,
                ends_at=now + timedelta(days=7),
                share_screenshot_task=True,
                share_reward_pool="S",
            )
            campaign = await create_campaign(campaigns, stack.appid, new, now)
            artwork = io.BytesIO()
            Image.new("RGB", (750, 1334), "#ffcc88").save(artwork, "PNG")
            data = artwork.getvalue()
            await upload_template(
                campaigns,
                MongoTemplateStore(database),
                stack.appid,
                campaign.id,
                None,
                (data, inspect_image(data, max_bytes=5_000_000)),
                TemplateLayout(QrBox(390, 954, 300)),
                now,
            )
            shots, members = MongoShareScreenshots(database), MongoReferralStore(database, None)
            for n, decision in enumerate((Decision.APPROVE, Decision.REJECT)):
                openid = f"o_export_{suffix}_{n}"
                await members.add_participant(
                    Participant(
                        campaign.id, stack.appid, openid, f"x{suffix}{n}", now, "qr", qr_url=f"https://qr/{openid}"
                    )
                )
                at = now - timedelta(minutes=30 - n)
                record = SubmissionRecord(
                    id=f"{stack.appid}:export-{suffix}-{n}",
                    campaign_id=campaign.id,
                    appid=stack.appid,
                    openid=openid,
                    received_at=at,
                    status="review",
                    decision="review",
                    reasons=["possibly_reused"],
                    evidence={"qr": "none", "boxes": {}},
                    fingerprint=Fingerprint(f"sha-{suffix}-{n}", None),
                    decided_by="auto",
                    decided_at=at,
                )
                assert await shots.add(record)
                await shots.keep_image(record.id, _jpeg("#ddeeff"), "image/jpeg")
                reason = "private_post" if decision is Decision.REJECT else None
                settled = await shots.settle_review(record.id, decision, "reviewer", None, now, reason=reason)
                assert settled is not None
            return campaign.id
        finally:
            await client.close()

    return run_async(work)


def test_a_reviewer_downloads_the_decided_items_as_labelled_examples(
    page: Page, console_stack: ConsoleStack, tmp_path: Path
) -> None:
    campaign_id = _arrange(console_stack)
    sign_in(page, console_stack, "reviewer")
    page.goto(f"{console_stack.console_url}/accounts/{console_stack.appid}/review?campaign_id={campaign_id}")
    section = page.locator("[data-testid=labels-export]")
    expect(section).to_be_visible()
    expect(page.locator("[data-testid=export-campaign]")).to_have_value(campaign_id)

    with page.expect_download() as started:
        page.click("[data-testid=export-labels]")
    download = started.value
    assert download.suggested_filename.startswith(f"screenshot-labels-{console_stack.appid}-")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with zipfile.ZipFile(saved) as bundle:
        lines = [json.loads(line) for line in bundle.read("labels.jsonl").decode().splitlines()]
        names = set(bundle.namelist())
    assert [(line["label"], line["reason"]) for line in lines] == [("approve", None), ("reject", "private_post")]
    assert all(line["file"] in names and line["template"]["image"] in names for line in lines)
    assert {line["campaign"] for line in lines} == {campaign_id}
