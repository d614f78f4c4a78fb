"""Share-screenshot decisions with the real analysis pool, on the in-memory records and on a real
MongoDB-protocol server: each picture decided once however often it is delivered, the share reward
granted once however it is approved, and a review settled by one reviewer only."""

from __future__ import annotations

import abc
import asyncio
import io
import random
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scrm_dev.screenshot_corpus import make_poster, make_share_screenshot, render_moments_screenshot
from services.campaigns.adapters import share_screenshots as share_docs
from services.campaigns.adapters.memory import InMemoryReferrals
from services.campaigns.adapters.referrals import REWARDS
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
from shared.wechat_client import InvalidMediaId
from tests.integration.campaigns.conftest import Records

APPID = "wxshare0000001"
NOW = datetime.now(UTC).replace(microsecond=0)
PAYLOADS = {
    "o_mom": "http://weixin.qq.com/q/02momAAAAAAAAAAAAAAAAAAA",
    "o_dad": "http://weixin.qq.com/q/02dadBBBBBBBBBBBBBBBBBBB",
}


def jpeg(image: Any, quality: int) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


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

    async def poster_spec(self, campaign: Campaign, nickname: str, member: str | None = None) -> PosterSpec | None:
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
        if media_id not in self.media:  # temporary media live three days
            raise InvalidMediaId(40007, "invalid media_id", "media/get")
        return self.media[media_id]


@pytest.fixture(scope="module")
def pool() -> Iterator[AnalysisPool]:
    analysis = AnalysisPool(1)
    try:
        yield analysis
    finally:
        analysis.close()


def picture(openid: str, msg_id: str, inbox: Inbox, content: bytes) -> tuple[Envelope, ImageMessageReceived]:
    inbox.media[f"m-{msg_id}"] = content
    event = ImageMessageReceived(
        openid=openid, received_at=NOW, msg_id=msg_id, pic_url="http://sim/pic", media_id=f"m-{msg_id}"
    )
    return Envelope.wrap(event, appid=APPID, key=openid, event_id=f"e-{msg_id}"), event


async def decide(
    envelope: Envelope, event: ImageMessageReceived, records: Records, inbox: Inbox, pool: AnalysisPool
) -> Decision | None:
    campaigns = Campaigns()
    task = await open_share_task(APPID, event.openid, campaigns, records.store, NOW)
    assert task is not None
    return await verify_submission(
        envelope,
        event,
        task,
        uow=records.uow(),
        reads=records.screenshots,
        campaigns=campaigns,
        media=inbox,
        renderer=IssuedPosters(),
        analysis=pool,
        thresholds=DecisionThresholds(),
        limits=ImageLimits(),
        now=NOW,
    )


class ShareScreenshotDecisions(abc.ABC):
    @abc.abstractmethod
    @pytest.fixture
    async def stored(self) -> Records: ...

    @abc.abstractmethod
    async def put_back_in_review(self, records: Records, submission: str) -> None:
        """Make the submission wait for a reviewer again and forget the rewards granted."""

    @pytest.fixture
    async def records(self, stored: Records) -> Records:
        for openid, payload in PAYLOADS.items():
            participant = Participant(
                "share1", APPID, openid, f"code{openid}", NOW - timedelta(minutes=30), "campaign_qr"
            )
            participant.qr_ticket, participant.qr_url = f"t-{openid}", payload
            await stored.store.add_participant(participant)
        return stored

    async def test_a_picture_is_decided_once_and_the_share_reward_granted_once(
        self, records: Records, pool: AnalysisPool
    ) -> None:
        inbox = Inbox()
        genuine = make_share_screenshot(make_poster(3, PAYLOADS["o_mom"]), random.Random(1))
        first = picture("o_mom", "1001", inbox, genuine)
        assert await decide(*first, records, inbox, pool) is Decision.APPROVE
        assert await decide(*first, records, inbox, pool) is None  # Kafka delivers it again

        # The same member sends another genuine screenshot: told it is done, nothing granted.
        another = make_share_screenshot(make_poster(3, PAYLOADS["o_mom"]), random.Random(2))
        assert await decide(*picture("o_mom", "1002", inbox, another), records, inbox, pool) is None

        # Another member sends hers: someone else's code, and a copy of an approved screenshot.
        assert await decide(*picture("o_dad", "1003", inbox, genuine), records, inbox, pool) is Decision.REJECT

        submissions = await records.screenshots.listing(
            "share1", status=None, reason=None, received_before=None, limit=10, offset=0
        )
        assert {(s.openid, s.status) for s in submissions} == {("o_mom", "approved"), ("o_dad", "rejected")}
        assert next(s for s in submissions if s.openid == "o_dad").reasons[:1] == ["foreign_qr"]
        rewards = await records.results.rewards("share1", limit=10, offset=0)
        assert [(r["inviter"], r["tier"], r["pool"]) for r in rewards] == [("o_mom", 0, "S")]
        kinds = sorted([n.kind for e in ("e-1001", "e-1002", "e-1003") for n in await records.notices.queued_by(e)])
        assert kinds == ["share-already", "share-approved", "share-rejected"]
        trail = [entry for s in submissions for entry in await records.screenshots.trail(s.id)]
        assert len(trail) == 2  # one audit entry per decision

    async def test_a_picture_that_cannot_be_fetched_or_is_too_large_is_rejected_with_its_reason(
        self, records: Records, pool: AnalysisPool
    ) -> None:
        inbox = Inbox()
        expired = picture("o_mom", "3001", inbox, b"")
        del inbox.media["m-3001"]  # media/get answers 40007
        assert await decide(*expired, records, inbox, pool) is Decision.REJECT
        huge = picture("o_dad", "3002", inbox, b"\xff\xd8" + b"\0" * (ImageLimits().max_bytes + 1))
        assert await decide(*huge, records, inbox, pool) is Decision.REJECT
        reasons = {
            s.openid: s.reasons
            for s in await records.screenshots.listing(
                "share1", status=None, reason=None, received_before=None, limit=10, offset=0
            )
        }
        assert reasons == {"o_mom": ["image_unreadable"], "o_dad": ["image_too_large"]}
        assert await records.results.rewards("share1", limit=10, offset=0) == []

    async def test_a_review_is_settled_by_one_reviewer_and_rewards_once(
        self, records: Records, pool: AnalysisPool
    ) -> None:
        inbox = Inbox()
        shot = make_share_screenshot(make_poster(3, PAYLOADS["o_mom"]), random.Random(3))
        envelope, event = picture("o_mom", "2001", inbox, shot)
        reads = records.screenshots
        assert await decide(envelope, event, records, inbox, pool) is Decision.APPROVE
        # Put it back in review, as if the machine had been unsure, then let two reviewers race.
        await self.put_back_in_review(records, f"{APPID}:2001")
        record = await reads.get(f"{APPID}:2001")
        assert record is not None and record.status == "review"
        one = campaign()

        async def settle(reviewer: str, decision: Decision) -> str:
            try:
                await settle_review(record, one, decision, reviewer=reviewer, note=None, uow=records.uow(), now=NOW)
            except AlreadySettled:
                return "refused"
            return "settled"

        outcomes = await asyncio.gather(settle("ops-li", Decision.APPROVE), settle("ops-wang", Decision.APPROVE))
        assert sorted(outcomes) == ["refused", "settled"]
        assert [r["tier"] for r in await records.results.rewards("share1", limit=10, offset=0)] == [0]
        settled = await reads.get(record.id)
        assert settled is not None and settled.status == "approved" and settled.decided_by in ("ops-li", "ops-wang")
        actors = [entry.actor for entry in await reads.trail(record.id)]
        assert actors[0] == "auto" and len(actors) == 2

    async def test_two_alike_pictures_decided_at_the_same_moment_are_not_both_approved(
        self, records: Records, pool: AnalysisPool, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Mom's screenshot, and Dad's copy of it with his own poster pasted over hers (his code, her
        # nickname and avatar). Both are read against the earlier submissions before either commits
        # (the barrier), so neither sees the other there: the latch of their shared keys must decide.
        inbox = Inbox()
        rendered = render_moments_screenshot(make_poster(3, PAYLOADS["o_mom"]), random.Random(5), view="detail")
        genuine = jpeg(rendered.image, 88)
        left, top, right, bottom = rendered.poster_box
        copied = rendered.image.copy()
        copied.paste(make_poster(3, PAYLOADS["o_dad"]).resize((right - left, bottom - top)), (left, top))
        copy = jpeg(copied, 75)

        barrier = asyncio.Barrier(2)
        store = type(records.screenshots)
        candidates = store.candidates
        calls = 0

        async def candidates_in_step(self: Any, campaign_id: str, keys: Any) -> Any:
            nonlocal calls
            found = await candidates(self, campaign_id, keys)
            calls += 1
            if calls <= 2:  # the first attempt of each: both have read before either writes
                await asyncio.wait_for(barrier.wait(), timeout=30)
            return found

        monkeypatch.setattr(store, "candidates", candidates_in_step)
        decisions = await asyncio.gather(
            decide(*picture("o_mom", "3001", inbox, genuine), records, inbox, pool),
            decide(*picture("o_dad", "3002", inbox, copy), records, inbox, pool),
        )
        assert calls >= 3, "one of the two was compared again after the other committed"
        assert sorted(d.value for d in decisions if d is not None) == ["approve", "reject"]
        settled = [await records.screenshots.get(f"{APPID}:{msg}") for msg in ("3001", "3002")]
        assert sorted(s.status for s in settled if s is not None) == ["approved", "rejected"]
        assert all("reused_screenshot" in s.reasons for s in settled if s is not None and s.status == "rejected")
        assert len(await records.results.rewards("share1", limit=10, offset=0)) == 1


class TestShareScreenshotDecisionsInMemory(ShareScreenshotDecisions):
    @pytest.fixture
    async def stored(self, in_memory_records: Records) -> Records:
        return in_memory_records

    async def put_back_in_review(self, records: Records, submission: str) -> None:
        assert isinstance(records.store, InMemoryReferrals)
        kept = records.store.records
        kept.submissions[submission] = replace(kept.submissions[submission], status="review", decision="review")
        kept.rewards.clear()


@pytest.mark.integration
class TestShareScreenshotDecisionsInMongoDB(ShareScreenshotDecisions):
    @pytest.fixture
    async def stored(self, mongo_records: Records, database: Any) -> Records:
        self.database = database
        return mongo_records

    async def put_back_in_review(self, records: Records, submission: str) -> None:
        update = {"$set": {"status": "review", "decision": "review"}}
        await self.database[share_docs.SUBMISSIONS].update_one({"_id": submission}, update)
        await self.database[REWARDS].delete_many({})
