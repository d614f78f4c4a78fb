"""Share-screenshot decisions against a real MongoDB-protocol server and the real analysis pool: each
picture decided once however often it is delivered, the share reward granted once however it is
approved, and a review settled by one reviewer only."""

from __future__ import annotations

import asyncio
import io
import random
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from scrm.screenshot_corpus import make_poster, make_share_screenshot
from services.campaigns.adapters import referrals as referral_docs
from services.campaigns.adapters import share_screenshots as share_docs
from services.campaigns.adapters.referrals import NOTICES, REWARDS, MongoReferralStore, MongoReferralUnitOfWork
from services.campaigns.adapters.share_screenshots import MongoShareScreenshots
from services.campaigns.domain.campaign import Campaign, InviteTier, PosterTemplate, QrBox
from services.campaigns.domain.participants import Participant
from services.campaigns.domain.poster_layout import PosterLayout
from services.campaigns.domain.poster_layout import QrBox as LayoutQrBox
from services.campaigns.domain.posters import PosterSpec
from services.campaigns.service_layer.ports import PosterRendererPort
from services.campaigns.service_layer.share_screenshots import (
    AlreadySettled,
    open_share_task,
    settle_review,
    verify_submission,
)
from services.screenshots import AnalysisPool, Decision, DecisionThresholds, ImageLimits
from shared.contracts import ImageMessageReceived
from shared.events import Envelope
from shared.storage import PROCESSED_EVENTS_INDEXES, ensure_indexes
from tests.conftest import Isolation

pytestmark = pytest.mark.integration

APPID = "wxshare0000001"
NOW = datetime.now(UTC).replace(microsecond=0)
PAYLOADS = {
    "o_mom": "http://weixin.qq.com/q/02momAAAAAAAAAAAAAAAAAAA",
    "o_dad": "http://weixin.qq.com/q/02dadBBBBBBBBBBBBBBBBBBB",
}


def png(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


POSTERS = {openid: png(make_poster(3, payload)) for openid, payload in PAYLOADS.items()}


def campaign() -> Campaign:
    made = Campaign.create(
        appid=APPID,
        name="晒图有礼",
        starts_at=NOW - timedelta(hours=1),
        ends_at=NOW + timedelta(days=7),
        now=NOW - timedelta(hours=1),
        campaign_id="share1",
        template=PosterTemplate("img", 750, 1334, QrBox(400, 1000, 240)),
        tiers=[InviteTier(3, "A")],
        share_screenshot_task=True,
        share_reward_pool="S",
    )
    made.activate(NOW - timedelta(hours=1))
    return made


class Campaigns:
    """The campaign directory, for one campaign (the real one reads MongoDB through a cache)."""

    def __init__(self) -> None:
        self.one = campaign()

    async def active(self, appid: str) -> list[Campaign]:
        return [self.one] if appid == APPID else []

    async def campaign(self, appid: str, campaign_id: str) -> Campaign | None:
        return self.one if (appid, campaign_id) == (APPID, self.one.id) else None

    async def poster_spec(self, campaign: Campaign, nickname: str) -> PosterSpec | None:
        layout = PosterLayout(width=750, height=1334, qr=LayoutQrBox(400, 1000, 240))
        return PosterSpec(b"", "v1", layout, "welcome", {})


class IssuedPosters(PosterRendererPort):
    """The posters the members were issued (what the poster cache holds in production)."""

    async def render(
        self,
        campaign_id: str,
        template_version: str | int,
        member_key: str,
        template_bytes: bytes,
        layout: PosterLayout,
        qr_url: str,
        texts: Mapping[str, str],
    ) -> bytes:
        return POSTERS[member_key.split(":")[0]]

    async def aclose(self) -> None:
        return None


class Inbox:
    """media/get for pictures the members sent."""

    def __init__(self) -> None:
        self.media: dict[str, bytes] = {}

    async def get_media(self, media_id: str) -> bytes:
        return self.media[media_id]


@pytest.fixture(scope="module")
def pool() -> Iterator[AnalysisPool]:
    analysis = AnalysisPool(1)
    try:
        yield analysis
    finally:
        analysis.close()


UowFactory = Callable[[], MongoReferralUnitOfWork]


@pytest.fixture
async def uow(
    mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation, database: Any
) -> AsyncIterator[UowFactory]:
    await ensure_indexes(database, (*referral_docs.INDEXES, *share_docs.INDEXES, *PROCESSED_EVENTS_INDEXES))
    store = MongoReferralStore(database, None)
    for openid, payload in PAYLOADS.items():
        participant = Participant("share1", APPID, openid, f"code{openid}", NOW - timedelta(minutes=30), "campaign_qr")
        participant.qr_ticket, participant.qr_url = f"t-{openid}", payload
        await store.add_participant(participant)
    yield lambda: MongoReferralUnitOfWork(mongo, isolation.database)


def picture(openid: str, msg_id: str, inbox: Inbox, content: bytes) -> tuple[Envelope, ImageMessageReceived]:
    inbox.media[f"m-{msg_id}"] = content
    event = ImageMessageReceived(
        openid=openid, received_at=NOW, msg_id=msg_id, pic_url="http://sim/pic", media_id=f"m-{msg_id}"
    )
    return Envelope.wrap(event, appid=APPID, key=openid, event_id=f"e-{msg_id}"), event


async def decide(
    envelope: Envelope, event: ImageMessageReceived, uow: UowFactory, database: Any, inbox: Inbox, pool: AnalysisPool
) -> Decision | None:
    campaigns = Campaigns()
    task = await open_share_task(APPID, event.openid, campaigns, MongoReferralStore(database, None), NOW)
    assert task is not None
    return await verify_submission(
        envelope,
        event,
        task,
        uow=uow(),
        reads=MongoShareScreenshots(database),
        campaigns=campaigns,
        media=inbox,
        renderer=IssuedPosters(),
        analysis=pool,
        thresholds=DecisionThresholds(),
        limits=ImageLimits(),
        now=NOW,
    )


async def test_a_picture_is_decided_once_and_the_share_reward_granted_once(
    uow: UowFactory, database: Any, pool: AnalysisPool
) -> None:
    inbox = Inbox()
    genuine = make_share_screenshot(make_poster(3, PAYLOADS["o_mom"]), random.Random(1))
    first = picture("o_mom", "1001", inbox, genuine)
    assert await decide(*first, uow, database, inbox, pool) is Decision.APPROVE
    assert await decide(*first, uow, database, inbox, pool) is None  # Kafka delivers it again

    # The same member sends another genuine screenshot: told it is done, nothing granted.
    another = make_share_screenshot(make_poster(3, PAYLOADS["o_mom"]), random.Random(2))
    assert await decide(*picture("o_mom", "1002", inbox, another), uow, database, inbox, pool) is None

    # Another member sends hers: someone else's code, and a copy of an approved screenshot.
    assert await decide(*picture("o_dad", "1003", inbox, genuine), uow, database, inbox, pool) is Decision.REJECT

    submissions = await database[share_docs.SUBMISSIONS].find({}, {"openid": 1, "status": 1, "reasons": 1}).to_list()
    assert {(s["openid"], s["status"]) for s in submissions} == {("o_mom", "approved"), ("o_dad", "rejected")}
    assert next(s for s in submissions if s["openid"] == "o_dad")["reasons"][:1] == ["foreign_qr"]
    rewards = await database[REWARDS].find({}).to_list()
    assert [(r["inviter"], r["tier"], r["pool"]) for r in rewards] == [("o_mom", 0, "S")]
    kinds = sorted(n["kind"] for n in await database[NOTICES].find({}).to_list())
    assert kinds == ["share-already", "share-approved", "share-rejected"]
    trail = await database[share_docs.AUDIT].count_documents({})
    assert trail == 2  # one audit entry per decision


async def test_a_review_is_settled_by_one_reviewer_and_rewards_once(
    uow: UowFactory, database: Any, pool: AnalysisPool
) -> None:
    inbox = Inbox()
    shot = make_share_screenshot(make_poster(3, PAYLOADS["o_mom"]), random.Random(3))
    envelope, event = picture("o_mom", "2001", inbox, shot)
    reads = MongoShareScreenshots(database)
    assert await decide(envelope, event, uow, database, inbox, pool) is Decision.APPROVE
    # Put it back in review, as if the machine had been unsure, then let two reviewers race.
    await database[share_docs.SUBMISSIONS].update_one({}, {"$set": {"status": "review", "decision": "review"}})
    await database[REWARDS].delete_many({})
    record = await reads.get(f"{APPID}:2001")
    assert record is not None and record.status == "review"
    one = campaign()

    async def settle(reviewer: str, decision: Decision) -> str:
        try:
            await settle_review(record, one, decision, reviewer=reviewer, note=None, uow=uow(), now=NOW)
        except AlreadySettled:
            return "refused"
        return "settled"

    outcomes = await asyncio.gather(settle("ops-li", Decision.APPROVE), settle("ops-wang", Decision.APPROVE))
    assert sorted(outcomes) == ["refused", "settled"]
    assert await database[REWARDS].count_documents({"tier": 0}) == 1
    settled = await reads.get(record.id)
    assert settled is not None and settled.status == "approved" and settled.decided_by in ("ops-li", "ops-wang")
    actors = [entry.actor for entry in await reads.trail(record.id)]
    assert actors[0] == "auto" and len(actors) == 2
