"""The share-screenshot review queue: listing, one submission, and a reviewer settling it (reward once)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.campaigns.adapters.memory import (
    CampaignRecords,
    InMemoryCampaigns,
    InMemoryNotices,
    InMemoryReferralUnitOfWork,
    InMemoryRewardPools,
    InMemoryShareScreenshots,
)
from services.campaigns.domain.campaign import Campaign
from services.campaigns.domain.participants import reward_id
from services.campaigns.domain.submissions import SubmissionRecord
from services.campaigns.service_layer import review
from services.campaigns.service_layer.management import NewCampaign, create_campaign
from services.screenshots import Decision, Fingerprint, Reason
from shared.contracts import CAMPAIGN_ACTIVITY, CATALOG, CampaignRewardGranted, CampaignScreenshotDecided
from shared.wechat_client import CustomMessage, Text

APPID = "wx1"
NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, CustomMessage]] = []

    async def send_custom_message(self, openid: str, message: CustomMessage) -> None:
        self.sent.append((openid, message))


class Desk:
    """The review desk's ports, in memory."""

    def __init__(self) -> None:
        self.campaigns = InMemoryCampaigns()
        self.records = CampaignRecords()
        self.screenshots = InMemoryShareScreenshots(self.records)
        self.notices = InMemoryNotices(self.records)
        self.pools = InMemoryRewardPools()
        self.outbox = Outbox()

    async def campaign(self) -> Campaign:
        new = NewCampaign(
            name="晒图有礼",
            starts_at=NOW,
            ends_at=NOW + timedelta(days=7),
            share_screenshot_task=True,
            share_reward_pool="S",
        )
        return await create_campaign(self.campaigns, APPID, new, NOW)

    async def submission(self, campaign: Campaign, name: str, status: str = "review", minutes_ago: int = 30) -> str:
        record = SubmissionRecord(
            id=f"{APPID}:{name}",
            campaign_id=campaign.id,
            appid=APPID,
            openid=f"o_{name}",
            received_at=NOW - timedelta(minutes=minutes_ago),
            status=status,
            decision=status if status == "review" else {"approved": "approve", "rejected": "reject"}[status],
            reasons=["possibly_reused"] if status == "review" else [],
            evidence={"boxes": {}},
            fingerprint=Fingerprint("sha", None),
            decided_by="auto",
            decided_at=NOW,
        )
        await self.screenshots.add(record)
        if status == "review":
            await self.screenshots.keep_image(record.id, b"\xff\xd8picture", "image/jpeg")
        return record.id

    async def settle(self, campaign: Campaign, submission: str, decision: Decision, reviewer: str) -> SubmissionRecord:
        return await review.settle(
            self.campaigns,
            self.screenshots,
            APPID,
            campaign.id,
            submission,
            decision,
            reviewer=reviewer,
            note="海报清晰可见",
            uow=InMemoryReferralUnitOfWork(self.records),
            notice_store=self.notices,
            rewards=self.notices,
            codes=self.pools,
            messenger=self.outbox,
            now=NOW,
        )


async def test_the_queue_lists_by_status_reason_and_age_with_counts() -> None:
    desk = Desk()
    campaign = await desk.campaign()
    old = await desk.submission(campaign, "old", minutes_ago=90)
    await desk.submission(campaign, "new", minutes_ago=5)
    await desk.submission(campaign, "done", status="approved")
    found = await review.queue(
        desk.campaigns,
        desk.screenshots,
        APPID,
        campaign.id,
        status="review",
        reason="possibly_reused",
        older_than_minutes=60,
        limit=10,
        offset=0,
        now=NOW,
    )
    assert [r.id for r in found.records] == [old]
    assert found.counts == {"review": 2, "approved": 1}
    with pytest.raises(review.UnknownReason):
        await review.queue(
            desk.campaigns,
            desk.screenshots,
            APPID,
            campaign.id,
            status=None,
            reason="made_up",
            older_than_minutes=None,
            limit=10,
            offset=0,
            now=NOW,
        )


async def test_a_submission_is_found_only_in_its_own_campaign_and_its_picture_only_while_kept() -> None:
    desk = Desk()
    campaign, other = await desk.campaign(), await desk.campaign()
    waiting = await desk.submission(campaign, "mom")
    decided = await desk.submission(campaign, "dad", status="rejected")
    found = await review.submission(desk.campaigns, desk.screenshots, APPID, campaign.id, waiting)
    assert found.has_picture and found.record.openid == "o_mom"
    with pytest.raises(review.SubmissionNotFound, match=f"in campaign '{other.id}'"):
        await review.submission(desk.campaigns, desk.screenshots, APPID, other.id, waiting)
    with pytest.raises(review.PictureNotKept):
        await review.submission_picture(desk.campaigns, desk.screenshots, APPID, campaign.id, decided)
    _, content, content_type = await review.submission_picture(
        desk.campaigns, desk.screenshots, APPID, campaign.id, waiting
    )
    assert (content[:2], content_type) == (b"\xff\xd8", "image/jpeg")


async def test_approving_grants_the_share_reward_once_and_replies_at_once() -> None:
    desk = Desk()
    campaign = await desk.campaign()
    await desk.pools.add_codes(campaign.id, "S", ["SHARE001"])
    submission = await desk.submission(campaign, "mom")

    settled = await desk.settle(campaign, submission, Decision.APPROVE, "ops-li")
    assert (settled.status, settled.decided_by, settled.note) == ("approved", "ops-li", "海报清晰可见")
    assert list(desk.records.rewards) == [reward_id(campaign.id, "o_mom", 0)]
    [(openid, reply)] = desk.outbox.sent
    assert openid == "o_mom" and isinstance(reply, Text) and "SHARE001" in reply.content
    assert [entry.actor for entry in await desk.screenshots.trail(submission)] == ["ops-li"]

    with pytest.raises(review.NotInReview, match="already approved by ops-li"):
        await desk.settle(campaign, submission, Decision.REJECT, "ops-wang")
    assert len(desk.outbox.sent) == 1 and len(desk.records.rewards) == 1


async def test_a_reviewers_decision_is_emitted_with_its_reason_and_the_submission_time_once() -> None:
    desk = Desk()
    campaign = await desk.campaign()
    approved, rejected = await desk.submission(campaign, "mom"), await desk.submission(campaign, "dad", minutes_ago=90)
    uow = InMemoryReferralUnitOfWork(desk.records)

    async def settle(submission: str, decision: Decision, reason: Reason | None = None) -> None:
        await review.settle(
            desk.campaigns, desk.screenshots, APPID, campaign.id, submission, decision, reviewer="ops-li", note=None,
            uow=uow, notice_store=desk.notices, rewards=desk.notices, codes=desk.pools, messenger=None, now=NOW,
            reason=reason,
        )  # fmt: skip

    await settle(approved, Decision.APPROVE)
    await settle(rejected, Decision.REJECT, Reason.FOREIGN_QR)
    with pytest.raises(review.NotInReview):
        await settle(rejected, Decision.APPROVE)  # decided already: nothing more to report
    emitted = [(topic, envelope.event_id, CATALOG.decode(envelope)) for topic, envelope in uow.emitted]
    assert [(topic, event_id) for topic, event_id, _ in emitted] == [
        (CAMPAIGN_ACTIVITY, f"screenshot_decided:{approved}:approved:reviewer"),
        (CAMPAIGN_ACTIVITY, f"reward_granted:{campaign.id}:o_mom:0"),
        (CAMPAIGN_ACTIVITY, f"screenshot_decided:{rejected}:rejected:reviewer"),
    ]
    assert emitted[0][2] == CampaignScreenshotDecided(
        openid="o_mom", campaign_id=campaign.id, submission_id=approved, outcome="approved",
        reasons=["possibly_reused"], decided_by="reviewer", submitted_at=NOW - timedelta(minutes=30), decided_at=NOW,
    )  # fmt: skip
    assert emitted[1][2] == CampaignRewardGranted(
        openid="o_mom", campaign_id=campaign.id, tier=1, basis="screenshot", granted_at=NOW
    )
    third = emitted[2][2]
    assert isinstance(third, CampaignScreenshotDecided) and third.reasons == ["foreign_qr"]
    assert third.submitted_at == NOW - timedelta(minutes=90) and uow.emitted[2][1].key == "o_dad"
