"""``campaigns.activity`` through the real MongoDB-protocol server and broker: the campaign worker (as
its bootstrap builds it) writes each event to the outbox with the write it reports, the API's reviewer
decisions go to the same outbox, and the worker's relay publishes them all, once per event id."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from scrm_dev.topics import read_records
from services.campaigns.adapters.campaigns import MongoCampaignRepository
from services.campaigns.adapters.referrals import MongoReferralStore
from services.campaigns.adapters.templates import MongoTemplateStore
from services.campaigns.bootstrap_api import bootstrap as bootstrap_api
from services.campaigns.bootstrap_worker import CampaignsWorker, bootstrap
from services.campaigns.domain.campaign import Campaign, InviteTier, JoinMethods, PosterTemplate, QrBox
from services.campaigns.domain.referrals import ReferralScene
from services.campaigns.service_layer import review
from services.campaigns.service_layer.ports import ImageInfo
from services.campaigns.settings import CampaignsSettings
from services.screenshots import Decision
from shared.contracts import (
    CAMPAIGN_ACTIVITY,
    CATALOG,
    TOPICS,
    CampaignScreenshotDecided,
    ImageMessageReceived,
    MemberFollowed,
    MemberUnfollowed,
    TextMessageReceived,
)
from shared.events import Envelope, Message
from shared.messaging import KafkaEventPublisher, ensure_topics
from shared.storage import OUTBOX
from shared.wechat_client import MemoryTokenStore, WeChatClients
from tests.accounts import account
from tests.conftest import Infra, Isolation
from tests.fakes.campaign_worker import Analyses, Renderer, WeChatApi
from tests.integration.conftest import LoadSettings

pytestmark = pytest.mark.integration

APPID = "wxactivity00001"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


@pytest.fixture
def settings(service_settings: LoadSettings) -> CampaignsSettings:
    return service_settings(CampaignsSettings, wechat_accounts=[account(APPID)])


@pytest.fixture
async def worker(
    infra: Infra, isolation: Isolation, database: Any, settings: CampaignsSettings
) -> AsyncIterator[tuple[CampaignsWorker, WeChatApi]]:
    await ensure_topics(infra.kafka, TOPICS, prefix=isolation.topic_prefix)
    image = await MongoTemplateStore(database).put(APPID, "c1", b"png", ImageInfo("image/png", 750, 1334, 3))
    campaign = Campaign.create(
        appid=APPID, name="秋季拉新", starts_at=T0, ends_at=T0 + timedelta(days=7), now=T0, campaign_id="c1",
        join=JoinMethods(keywords=("海报",)), template=PosterTemplate(image.id, 750, 1334, QrBox(400, 1000, 240)),
        tiers=[InviteTier(2, "A")], share_screenshot_task=True, share_reward_pool="S",
    )  # fmt: skip
    campaign.activate(T0)
    await MongoCampaignRepository(database).add(campaign)
    api = WeChatApi()
    async with (
        WeChatClients(MemoryTokenStore(), transport=httpx.MockTransport(api)) as clients,
        KafkaEventPublisher(infra.kafka, topic_prefix=isolation.topic_prefix) as publisher,
    ):
        clients.add(APPID, "secret")
        async with bootstrap(
            settings, clients=clients, renderer=Renderer(), analysis=Analyses(), publisher=publisher
        ) as running:
            yield running, api


async def test_the_worker_publishes_the_funnel_and_the_reviewers_decisions_from_the_outbox(
    infra: Infra,
    isolation: Isolation,
    database: Any,
    settings: CampaignsSettings,
    worker: tuple[CampaignsWorker, WeChatApi],
) -> None:
    running, api = worker
    numbers = itertools.count(1)

    async def push(message: Message, openid: str, event_id: str | None = None) -> None:
        envelope = Envelope.wrap(message, appid=APPID, key=openid, event_id=event_id or f"push-{next(numbers)}")
        await running.handle(envelope, message)

    def at(minutes: int) -> datetime:
        return T0 + timedelta(minutes=minutes)

    await push(TextMessageReceived(openid="o_mom", received_at=at(1), msg_id="1", content="海报"), "o_mom")
    mom = await MongoReferralStore(database, None).participant("c1", "o_mom")
    assert mom is not None
    code = ReferralScene("c1", mom.code).encode()
    follow = MemberFollowed(openid="o_f1", followed_at=at(2), scene=code)
    await push(follow, "o_f1", event_id="follow-f1")
    await push(follow, "o_f1", event_id="follow-f1")  # redelivered: nothing new
    await push(MemberFollowed(openid="o_f2", followed_at=at(3), scene=code), "o_f2", event_id="follow-f2")
    await push(MemberUnfollowed(openid="o_f2", unfollowed_at=at(4)), "o_f2")
    await push(MemberFollowed(openid="o_f3", followed_at=at(4), scene=code), "o_f3", event_id="follow-f3")
    api.media["m-1"] = b"unclear"
    picture = ImageMessageReceived(openid="o_mom", received_at=at(5), msg_id="s1", pic_url="http://pic", media_id="m-1")
    await push(picture, "o_mom")

    async with bootstrap_api(settings) as desk:  # the API process: its decision goes to the same outbox
        await review.settle(
            desk.campaigns, desk.screenshots, APPID, "c1", f"{APPID}:s1", Decision.APPROVE, reviewer="ops-li",
            note=None, uow=desk.uow(), notice_store=desk.notices, rewards=desk.notices, codes=desk.pools,
            messenger=None, now=at(50),
        )  # fmt: skip
    # verified_followers: the two friends who stayed are confirmed after the 48-hour window, and only
    # then does mom reach the tier (and its events go out).
    confirmed = await running.confirm_credits(at(5) + timedelta(hours=49))
    assert sorted((c.invitee, c.tiers_granted) for c in confirmed) == [("o_f1", ()), ("o_f3", (2,))]

    expected = {
        "poster_sent:c1:o_mom",
        "poster_scanned:follow-f1",
        "invite_credited:c1:o_f1",
        "poster_sent:c1:o_f1",
        "poster_scanned:follow-f2",
        "invite_credited:c1:o_f2",
        "poster_sent:c1:o_f2",
        "credit_revoked:c1:o_f2",
        "poster_scanned:follow-f3",
        "invite_credited:c1:o_f3",
        "poster_sent:c1:o_f3",
        "tier_reached:c1:o_mom:1",
        "reward_granted:c1:o_mom:1",
        f"screenshot_decided:{APPID}:s1:queued:auto",
        f"screenshot_decided:{APPID}:s1:approved:reviewer",
        "reward_granted:c1:o_mom:0",
    }
    records = await read_records(
        infra.kafka, CAMPAIGN_ACTIVITY.physical_name(isolation.topic_prefix), at_least=len(expected), within=30
    )
    envelopes = [Envelope.from_bytes(record.value) for record in records]
    assert Counter(e.event_id for e in envelopes) == Counter(expected)  # each once
    for record, envelope in zip(records, envelopes, strict=True):
        message = CATALOG.decode(envelope)
        assert envelope.appid == APPID and record.key.decode() == envelope.key == getattr(message, "openid")  # noqa: B009
    # One member's events keep the order they were written in (one partition per member; credits and
    # revocations are the inviter's).
    in_order = sorted(zip(records, envelopes, strict=True), key=lambda pair: (pair[0].partition, pair[0].offset))
    assert [e.event_id for _, e in in_order if e.key == "o_mom"] == [
        "poster_sent:c1:o_mom",
        "invite_credited:c1:o_f1",
        "invite_credited:c1:o_f2",
        "credit_revoked:c1:o_f2",
        "invite_credited:c1:o_f3",
        f"screenshot_decided:{APPID}:s1:queued:auto",
        f"screenshot_decided:{APPID}:s1:approved:reviewer",
        "reward_granted:c1:o_mom:0",
        "tier_reached:c1:o_mom:1",
        "reward_granted:c1:o_mom:1",
    ]
    reviewed = next(e for e in envelopes if e.event_id.endswith(":reviewer"))
    decision = CATALOG.decode(reviewed)
    assert isinstance(decision, CampaignScreenshotDecided)
    assert (decision.submitted_at, decision.decided_at, decision.reasons) == (at(5), at(50), ["moments_uncertain"])
    assert await database[OUTBOX].count_documents({}) == 0  # published, then deleted
