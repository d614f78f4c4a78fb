"""The campaign worker's routing, on the in-memory adapters and a stand-in for the WeChat API: every
push that changes a member's campaign records emits what changed on ``campaigns.activity`` with the
write (the unit of work's ``emitted``), and a redelivered push emits nothing new."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.campaigns.adapters.directory import CampaignDirectoryAdapter
from services.campaigns.adapters.memory import (
    CampaignRecords,
    InMemoryCampaigns,
    InMemoryNotices,
    InMemoryReferrals,
    InMemoryReferralUnitOfWork,
    InMemoryRewardPools,
    InMemoryShareScreenshots,
    InMemoryTemplates,
)
from services.campaigns.bootstrap_worker import CampaignsWorker
from services.campaigns.domain.campaign import Campaign, InviteTier, JoinMethods, PosterTemplate, QrBox
from services.campaigns.domain.referrals import ReferralScene
from services.campaigns.service_layer.ports import ImageInfo
from services.campaigns.settings import CampaignsSettings
from shared.contracts import (
    CAMPAIGN_ACTIVITY,
    CATALOG,
    CampaignPosterScanned,
    CampaignRewardGranted,
    CampaignScreenshotDecided,
    ImageMessageReceived,
    MemberFollowed,
    MemberUnfollowed,
    QrCodeScanned,
    TextMessageReceived,
)
from shared.events import Envelope, Message
from shared.wechat_client import MemoryTokenStore, WeChatClients
from tests.fakes.campaign_worker import Analyses, Renderer, WeChatApi

APPID = "wx1"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


@dataclass
class Harness:
    worker: CampaignsWorker
    uow: InMemoryReferralUnitOfWork
    api: WeChatApi
    campaign: Campaign
    records: CampaignRecords
    numbers: itertools.count[int]

    async def push(self, message: Message, openid: str, event_id: str | None = None) -> Envelope:
        event_id = event_id or f"push-{next(self.numbers)}"
        envelope = Envelope.wrap(message, appid=APPID, key=openid, event_id=event_id)
        await self.worker.handle(envelope, message)
        return envelope

    def emitted(self, since: int = 0) -> list[tuple[str, Message]]:
        found = []
        for topic, envelope in self.uow.emitted[since:]:
            message = CATALOG.decode(envelope)
            assert topic is CAMPAIGN_ACTIVITY and envelope.appid == APPID
            assert envelope.key == getattr(message, "openid")  # noqa: B009 - keyed by the member it is about
            found.append((envelope.event_id, message))
        return found

    def ids(self, since: int = 0) -> list[str]:
        return [event_id for event_id, _ in self.emitted(since)]

    async def code_of(self, openid: str) -> str:
        member = await InMemoryReferrals(self.records).participant(self.campaign.id, openid)
        assert member is not None
        return ReferralScene(self.campaign.id, member.code).encode()


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    records, templates, campaigns = CampaignRecords(), InMemoryTemplates(), InMemoryCampaigns()
    image = await templates.put(APPID, "c1", b"png", ImageInfo("image/png", 750, 1334, 3))
    campaign = Campaign.create(
        appid=APPID,
        name="秋季拉新",
        starts_at=T0,
        ends_at=T0 + timedelta(days=7),
        now=T0,
        campaign_id="c1",
        join=JoinMethods(keywords=("海报",)),
        template=PosterTemplate(image.id, 750, 1334, QrBox(400, 1000, 240)),
        tiers=[InviteTier(2, "A"), InviteTier(3, "B")],
        share_screenshot_task=True,
        share_reward_pool="S",
    )
    campaign.activate(T0)
    await campaigns.add(campaign)
    uow, api = InMemoryReferralUnitOfWork(records), WeChatApi()
    async with WeChatClients(MemoryTokenStore(), transport=httpx.MockTransport(api)) as clients:
        clients.add(APPID, "secret")
        worker = CampaignsWorker(
            settings=CampaignsSettings(),
            directory=CampaignDirectoryAdapter(campaigns, templates),
            uow=lambda: uow,
            store=InMemoryReferrals(records),
            notice_store=InMemoryNotices(records),
            pools=InMemoryRewardPools(),
            clients=clients,
            renderer=Renderer(),
            screenshots=InMemoryShareScreenshots(records),
            analysis=Analyses(),
            ready=lambda: _ready(),
        )
        yield Harness(worker, uow, api, campaign, records, itertools.count(1))


async def _ready() -> bool:
    return True


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def test_joins_follows_scans_and_unfollows_emit_the_referral_funnel_once(harness: Harness) -> None:
    await harness.push(TextMessageReceived(openid="o_mom", received_at=at(1), msg_id="1", content="海报"), "o_mom")
    assert harness.ids() == ["poster_sent:c1:o_mom"]
    mom = await harness.code_of("o_mom")

    follow = MemberFollowed(openid="o_f1", followed_at=at(2), scene=mom)
    await harness.push(follow, "o_f1", event_id="follow-f1")
    # The friend is credited to mom, then joins the campaign too and gets a poster of their own.
    assert harness.ids(1) == ["poster_scanned:follow-f1", "invite_credited:c1:o_f1", "poster_sent:c1:o_f1"]
    assert harness.emitted(1)[0][1] == CampaignPosterScanned(
        openid="o_f1", campaign_id="c1", inviter_openid="o_mom", new_follower=True, scanned_at=at(2)
    )
    before = len(harness.uow.emitted)
    await harness.push(follow, "o_f1", event_id="follow-f1")  # Kafka redelivers the follow
    assert len(harness.uow.emitted) == before

    await harness.push(MemberFollowed(openid="o_f2", followed_at=at(3), scene=mom), "o_f2", event_id="follow-f2")
    assert harness.ids(before) == [
        "poster_scanned:follow-f2",
        "invite_credited:c1:o_f2",
        "tier_reached:c1:o_mom:1",
        "reward_granted:c1:o_mom:1",
        "poster_sent:c1:o_f2",
    ]
    before = len(harness.uow.emitted)
    # An existing follower scans mom's code (SCAN): a scan, no new follower, no credit.
    await harness.push(QrCodeScanned(openid="o_f1", scanned_at=at(4), scene=mom), "o_f1", event_id="scan-f1")
    await harness.push(MemberUnfollowed(openid="o_f2", unfollowed_at=at(5)), "o_f2")
    assert harness.emitted(before) == [
        (
            "poster_scanned:scan-f1",
            CampaignPosterScanned(
                openid="o_f1", campaign_id="c1", inviter_openid="o_mom", new_follower=False, scanned_at=at(4)
            ),
        ),
        ("credit_revoked:c1:o_f2", harness.emitted(before)[1][1]),
    ]
    # The friend comes back through mom's code: a re-follow is a scan, not a new follower, not a credit.
    await harness.push(MemberFollowed(openid="o_f2", followed_at=at(6), scene=mom), "o_f2", event_id="refollow")
    ((_, rescan),) = harness.emitted(before + 2)
    assert isinstance(rescan, CampaignPosterScanned) and rescan.new_follower is False


async def screenshot(harness: Harness, openid: str, msg_id: str, content: bytes) -> Envelope:
    harness.api.media[f"m-{msg_id}"] = content
    message = ImageMessageReceived(
        openid=openid, received_at=at(30), msg_id=msg_id, pic_url="http://pic", media_id=f"m-{msg_id}"
    )
    return await harness.push(message, openid, event_id=f"image-{msg_id}")


async def test_share_screenshots_emit_each_automatic_decision_and_the_share_reward_once(harness: Harness) -> None:
    await harness.push(TextMessageReceived(openid="o_mom", received_at=at(1), msg_id="1", content="海报"), "o_mom")
    before = len(harness.uow.emitted)
    await screenshot(harness, "o_mom", "m1", b"private")
    await screenshot(harness, "o_mom", "m2", b"unclear")
    await screenshot(harness, "o_mom", "m2", b"unclear")  # the platform retries the push
    await screenshot(harness, "o_mom", "m3", b"good")
    decided = harness.emitted(before)
    assert [event_id for event_id, _ in decided] == [
        "screenshot_decided:wx1:m1:rejected:auto",
        "screenshot_decided:wx1:m2:queued:auto",
        "screenshot_decided:wx1:m3:approved:auto",
        "reward_granted:c1:o_mom:0",
    ]
    first = decided[0][1]
    assert isinstance(first, CampaignScreenshotDecided)
    assert (first.outcome, first.reasons, first.decided_by) == ("rejected", ["private_post"], "auto")
    assert first.submitted_at == at(30) and first.submission_id == "wx1:m1"
    queued = decided[1][1]
    assert isinstance(queued, CampaignScreenshotDecided) and queued.reasons == ["moments_uncertain"]
    reward = decided[3][1]
    assert isinstance(reward, CampaignRewardGranted)
    assert (reward.openid, reward.tier, reward.basis) == ("o_mom", 1, "screenshot")
    before = len(harness.uow.emitted)
    await screenshot(harness, "o_mom", "m4", b"good")  # approved already: told so, nothing decided
    assert harness.uow.emitted[before:] == []
