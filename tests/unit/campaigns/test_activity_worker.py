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
    InMemoryKnownFollowers,
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
from services.campaigns.service_layer.known_followers import seed_imported
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
from shared.wechat_client import MemoryTokenStore, UserInfo, WeChatClients
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
    # Two credits reach tier 1's count, but both are pending (verified_followers): no tier yet.
    assert harness.ids(before) == ["poster_scanned:follow-f2", "invite_credited:c1:o_f2", "poster_sent:c1:o_f2"]
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


async def test_tiers_are_granted_when_credits_are_confirmed_after_the_revocation_window(harness: Harness) -> None:
    """``verified_followers``: credits wait out the 48-hour window; the sweep confirms those whose
    invitee stayed, grants the tier on confirmed credits once, and a friend who left earns nothing."""
    await harness.push(TextMessageReceived(openid="o_mom", received_at=at(1), msg_id="1", content="海报"), "o_mom")
    mom = await harness.code_of("o_mom")
    for n, friend in enumerate(("o_f1", "o_f2", "o_f3"), start=2):
        await harness.push(MemberFollowed(openid=friend, followed_at=at(n), scene=mom), friend)
    await harness.push(MemberUnfollowed(openid="o_f3", unfollowed_at=at(60)), "o_f3")  # left within the window
    progress = [n["text"] for n in harness.records.notices.values() if n["kind"] == "progress"]
    assert progress[-1].startswith("已邀请 0/2") and "3 位好友待确认" in progress[-1]

    before = len(harness.uow.emitted)
    assert await harness.worker.confirm_credits(at(2) + timedelta(hours=47)) == []  # still inside the window
    grace = timedelta(seconds=harness.worker.settings.credit_confirm_grace_seconds)
    confirmed = await harness.worker.confirm_credits(at(4) + timedelta(hours=48) + grace)
    assert [(c.invitee, c.tiers_granted) for c in confirmed] == [("o_f1", ()), ("o_f2", (2,))]
    assert harness.ids(before) == ["tier_reached:c1:o_mom:1", "reward_granted:c1:o_mom:1"]
    assert await harness.worker.confirm_credits(at(10) + timedelta(hours=49)) == []  # nothing left pending
    assert len(harness.uow.emitted) == before + 2
    member = await InMemoryReferrals(harness.records).participant("c1", "o_mom")
    assert member is not None and (member.credited, member.confirmed, member.tiers_granted) == (2, 2, [2])
    tier_notices = [n for n in harness.records.notices.values() if n["kind"] == "tier-2"]
    assert len(tier_notices) == 1 and tier_notices[0]["status"] in ("sent", "held")


async def test_a_share_task_beside_verified_followers_can_thank_without_paying(harness: Harness) -> None:
    """docs/screenshots.md: the share task can run beside verified followers without paying for
    shares. Without a share reward pool an approved screenshot is thanked; no reward, no code."""
    campaigns = harness.worker.directory._repository
    stored = await campaigns.get(APPID, "c1")
    assert stored is not None
    stored.share_reward_pool = None
    await campaigns.save(stored)
    await harness.push(TextMessageReceived(openid="o_mom", received_at=at(1), msg_id="1", content="海报"), "o_mom")
    before = len(harness.uow.emitted)
    await screenshot(harness, "o_mom", "t1", b"good")
    assert harness.ids(before) == ["screenshot_decided:wx1:t1:approved:auto"]  # no reward_granted
    assert not any(r["tier"] == 0 for r in harness.records.rewards.values())
    thanked = [n for n in harness.records.notices.values() if n["kind"] == "share-thanked"]
    assert len(thanked) == 1 and thanked[0]["text"] == "分享截图审核通过，感谢分享！"
    await screenshot(harness, "o_mom", "t2", b"good")  # approved already: told so, not thanked again
    assert len([n for n in harness.records.notices.values() if n["kind"] == "share-thanked"]) == 1


async def test_a_follower_seeded_before_launch_is_not_new_when_re_following_through_a_poster(
    harness: Harness,
) -> None:
    """Issue 21 item 2: followers imported before the campaign (``scrm members import``) are known, so
    one who unfollows and re-follows through a poster is refused; a new friend is credited."""
    known = InMemoryKnownFollowers(harness.records)
    imported = [UserInfo(subscribe=1, openid="o_old", subscribe_time=int((T0 - timedelta(days=300)).timestamp()))]
    assert await seed_imported(APPID, imported, known, T0) == 1
    await harness.push(TextMessageReceived(openid="o_mom", received_at=at(1), msg_id="1", content="海报"), "o_mom")
    mom = await harness.code_of("o_mom")
    await harness.push(MemberUnfollowed(openid="o_old", unfollowed_at=at(2)), "o_old")
    await harness.push(MemberFollowed(openid="o_old", followed_at=at(3), scene=mom), "o_old")
    await harness.push(MemberFollowed(openid="o_new", followed_at=at(4), scene=mom), "o_new")
    refused = [r["reason"] for r in harness.records.rejections.values()]
    assert refused == ["not_a_new_follower"]
    assert [i.invitee for i in harness.records.invitations.values()] == ["o_new"]
