"""Delayed share-reward payouts (issue 21 item 7): the policy and the payout's state machine, the
re-check's judgement, and the worker's flow on the in-memory adapters: approve -> pending -> re-check
asked -> fresh screenshot -> paid once; no re-check -> expired, no reward; a failed one -> no reward."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
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
    InMemorySharePayouts,
    InMemoryShareScreenshots,
    InMemoryTemplates,
)
from services.campaigns.bootstrap_worker import CampaignsWorker
from services.campaigns.domain.campaign import (
    Campaign,
    CampaignInvalid,
    InviteTier,
    JoinMethods,
    PosterTemplate,
    QrBox,
)
from services.campaigns.domain.payouts import (
    IllegalPayoutMove,
    PayoutState,
    RecheckJudgement,
    RecheckMode,
    SharePayoutPolicy,
    Step,
    judge_recheck,
    newest_age,
    open_payout,
    sampled,
)
from services.campaigns.service_layer import share_screenshots
from services.campaigns.service_layer.ports import ImageInfo
from services.campaigns.settings import CampaignsSettings
from services.screenshots import Analysis, Decision, Evidence, Fingerprint, QrMatch, TimedAnalysis
from shared.contracts import (
    CAMPAIGN_ACTIVITY,
    CATALOG,
    CampaignRewardGranted,
    ImageMessageReceived,
    TextMessageReceived,
)
from shared.events import Envelope
from shared.wechat_client import MemoryTokenStore, WeChatClients
from tests.fakes.campaign_worker import Renderer, WeChatApi

APPID = "wx1"
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
POLICY = SharePayoutPolicy(delay_hours=6, recheck=RecheckMode.ALL, recheck_after_hours=2, recheck_deadline_hours=24)


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


# -- the policy and the state machine ------------------------------------------------------------------


def test_the_sample_is_a_hash_of_campaign_and_member_so_every_retry_chooses_the_same() -> None:
    members = [f"o_{n}" for n in range(2000)]
    chosen = [m for m in members if sampled("c1", m, 30)]
    assert chosen == [m for m in members if sampled("c1", m, 30)]
    assert 500 <= len(chosen) <= 700  # about 30 %
    assert all(sampled("c1", m, 100) for m in members[:50])
    policy = SharePayoutPolicy(recheck=RecheckMode.SAMPLE, recheck_percent=30)
    assert [m for m in members if policy.asks_recheck_of("c1", m)] == chosen
    assert not SharePayoutPolicy().asks_recheck_of("c1", "o_1")
    assert SharePayoutPolicy(recheck=RecheckMode.ALL).asks_recheck_of("c1", "o_1")


def test_without_a_recheck_the_payout_is_paid_after_the_delay() -> None:
    payout = open_payout(
        SharePayoutPolicy(delay_hours=48),
        campaign_id="c1",
        appid=APPID,
        openid="o_mom",
        pool="S",
        submission_id="wx1:1",
        approved_at=T0,
    )
    assert (payout.state, payout.due_at, payout.recheck_at) == (PayoutState.WAITING, hours(48), None)
    assert payout.step(hours(47)) is None and payout.step(hours(48)) is Step.PAY
    paid = payout.pay(hours(48))
    assert (paid.state, paid.due_at, paid.pending) == (PayoutState.PAID, None, False)
    with pytest.raises(IllegalPayoutMove):
        paid.pay(hours(49))


def test_a_recheck_is_asked_then_passed_then_paid_at_the_pay_time() -> None:
    payout = open_payout(
        POLICY, campaign_id="c1", appid=APPID, openid="o_mom", pool="S", submission_id="wx1:1", approved_at=T0
    )
    assert (payout.due_at, payout.step(hours(1)), payout.step(hours(2))) == (hours(2), None, Step.ASK)
    with pytest.raises(IllegalPayoutMove):
        payout.pay(hours(7))  # never paid before its re-check passed
    asked = payout.ask(hours(2), 24)
    assert (asked.state, asked.recheck_deadline_at) == (PayoutState.RECHECK_REQUESTED, hours(26))
    assert asked.due_at == hours(26)
    assert asked.step(hours(10)) is None and asked.step(hours(26)) is Step.EXPIRE
    passed = asked.pass_recheck(hours(3), "wx1:2")
    assert (passed.state, passed.due_at, passed.recheck_submission) == (PayoutState.RECHECK_PASSED, hours(6), "wx1:2")
    assert passed.step(hours(6)) is Step.PAY
    late = asked.pass_recheck(hours(8), "wx1:2")
    assert late.due_at == hours(8)  # the pay time has passed: due at once
    assert passed.pay(hours(6)).state is PayoutState.PAID
    failed = asked.fail_recheck(hours(3), "wx1:2", ("posted_again",))
    assert (failed.state, failed.due_at) == (PayoutState.RECHECK_FAILED, None)
    assert failed.recheck_reasons == ("posted_again",)
    expired = asked.expire(hours(26))
    assert (expired.state, expired.pending) == (PayoutState.RECHECK_EXPIRED, False)
    for settled in (failed, expired):
        with pytest.raises(IllegalPayoutMove):
            settled.pay(hours(30))
        with pytest.raises(IllegalPayoutMove):
            settled.pass_recheck(hours(30), "wx1:3")


def test_the_policy_is_validated_with_the_field_named() -> None:
    def create(**changes: object) -> Campaign:
        values: dict[str, object] = {
            "appid": APPID,
            "name": "晒图",
            "starts_at": T0,
            "ends_at": hours(24 * 7),
            "now": T0,
            "share_screenshot_task": True,
            "share_reward_pool": "S",
        }
        return Campaign.create(**(values | changes))  # type: ignore[arg-type]

    assert create(share_payout=POLICY).share_payout == POLICY
    with pytest.raises(CampaignInvalid) as invalid:
        create(share_payout=replace(POLICY, recheck_percent=0))
    assert invalid.value.field == "share_payout.recheck_percent"
    with pytest.raises(CampaignInvalid) as invalid:
        create(share_payout=replace(POLICY, recheck_deadline_hours=0))
    assert invalid.value.field == "share_payout.recheck_deadline_hours"
    with pytest.raises(CampaignInvalid) as invalid:
        create(share_reward_pool=None, share_payout=POLICY)  # nothing to pay from
    assert invalid.value.field == "share_payout"
    assert create(share_reward_pool=None).share_payout.immediate  # the thanked task stays as it was


def test_the_time_row_bounds_how_old_a_post_can_be() -> None:
    assert newest_age("刚刚") == timedelta(minutes=1)
    assert newest_age("5分钟前") == timedelta(minutes=6)
    assert newest_age("3小时前") == timedelta(hours=4)
    assert newest_age("Justnow") == timedelta(minutes=1)
    assert newest_age("12minsago") == timedelta(minutes=13)
    assert newest_age("2hrsago") == timedelta(hours=3)
    assert newest_age("昨天") is None and newest_age("12月3日") is None and newest_age(None) is None


def judged(**given: object) -> tuple[RecheckJudgement, str | None]:
    values: dict[str, object] = {
        "decision": "approve",
        "reasons": (),
        "same_file": False,
        "same_surroundings": True,
        "time_word": "5小时前",
        "first_submitted_at": T0,
        "now": hours(5),
    }
    return judge_recheck(**(values | given))  # type: ignore[arg-type]


def test_a_recheck_passes_on_the_same_post_later_and_fails_on_proof_of_a_problem() -> None:
    assert judged() == (RecheckJudgement.PASSED, None)
    assert judged(same_surroundings=None, time_word="昨天") == (RecheckJudgement.PASSED, None)
    # The post was deleted and posted again: its time row is younger than the first screenshot.
    assert judged(time_word="刚刚") == (RecheckJudgement.FAILED, "posted_again")
    assert judged(time_word="20分钟前") == (RecheckJudgement.FAILED, "posted_again")
    assert judged(same_surroundings=False) == (RecheckJudgement.FAILED, "not_same_post")
    assert judged(decision="reject", reasons=("private_post",)) == (RecheckJudgement.FAILED, "private_post")
    assert judged(decision="reject", reasons=("foreign_qr",)) == (RecheckJudgement.FAILED, "foreign_qr")
    # Honest mistakes may be tried again until the deadline: the first screenshot again, an unclear one.
    assert judged(same_file=True) == (RecheckJudgement.RETRY, "not_fresh")
    assert judged(decision="review", reasons=("moments_uncertain",)) == (RecheckJudgement.RETRY, "moments_uncertain")
    assert judged(decision="reject", reasons=("not_moments",)) == (RecheckJudgement.RETRY, "not_moments")


# -- the worker's flow, in memory ---------------------------------------------------------------------


class Analyses:
    """A screenshot's bytes say what it shows: ``"post|<time row>|..."`` is the member's own public
    post with that time row (what follows tells members' pictures apart); ``"private|..."`` a private
    one. The fingerprint is the bytes."""

    async def analyze(self, screenshot: bytes, poster: bytes, payload: str) -> TimedAnalysis:
        kind, time_word, *_ = screenshot.decode().split("|")
        evidence = Evidence(
            qr=QrMatch.OWN,
            qr_payloads=(payload,),
            artwork_score=0.9,
            poster_share=0.5,
            moments_checked=True,
            time_word=time_word or None,
            delete_word=True,
            lock_marker=kind == "private",
            title="朋友圈",
        )
        return Analysis(evidence, Fingerprint(screenshot.hex(), None)), 12.0


@dataclass
class Flow:
    worker: CampaignsWorker
    uow: InMemoryReferralUnitOfWork
    api: WeChatApi
    records: CampaignRecords
    now: list[datetime]
    numbers: itertools.count[int]

    def at(self, when: datetime) -> None:
        self.now[0] = when

    async def join(self, openid: str) -> None:
        msg_id = f"t{next(self.numbers)}"
        message = TextMessageReceived(openid=openid, received_at=self.now[0], msg_id=msg_id, content="海报")
        await self.worker.handle(Envelope.wrap(message, appid=APPID, key=openid, event_id=f"join-{openid}"), message)

    async def screenshot(self, openid: str, shows: str, msg_id: str | None = None) -> None:
        msg_id = msg_id or f"m{next(self.numbers)}"
        self.api.media[f"media-{msg_id}"] = shows.encode()
        message = ImageMessageReceived(
            openid=openid, received_at=self.now[0], msg_id=msg_id, pic_url="http://pic", media_id=f"media-{msg_id}"
        )
        await self.worker.handle(Envelope.wrap(message, appid=APPID, key=openid, event_id=f"image-{msg_id}"), message)

    def texts(self, openid: str, kind: str) -> list[str]:
        return [
            doc.get("delivered_text", doc["text"])
            for doc in self.records.notices.values()
            if doc["openid"] == openid and doc["kind"] == kind and doc["status"] == "sent"
        ]

    def payout(self, openid: str) -> PayoutState:
        return self.records.payouts[f"c1:{openid}"].state

    def share_grants(self) -> list[str]:
        return sorted(doc["inviter"] for doc in self.records.rewards.values() if doc["tier"] == 0)

    def granted_events(self) -> list[str]:
        return [
            envelope.event_id
            for topic, envelope in self.uow.emitted
            if topic is CAMPAIGN_ACTIVITY and isinstance(CATALOG.decode(envelope), CampaignRewardGranted)
        ]


@pytest.fixture
async def flow() -> AsyncIterator[Flow]:
    records, templates, campaigns = CampaignRecords(), InMemoryTemplates(), InMemoryCampaigns()
    image = await templates.put(APPID, "c1", b"png", ImageInfo("image/png", 750, 1334, 3))
    campaign = Campaign.create(
        appid=APPID,
        name="晒图有礼",
        starts_at=T0 - timedelta(hours=1),
        ends_at=T0 + timedelta(days=7),
        now=T0 - timedelta(hours=1),
        campaign_id="c1",
        join=JoinMethods(keywords=("海报",)),
        template=PosterTemplate(image.id, 750, 1334, QrBox(400, 1000, 240)),
        tiers=[InviteTier(3, "A")],
        share_screenshot_task=True,
        share_reward_pool="S",
        share_payout=POLICY,
    )
    campaign.activate(T0 - timedelta(hours=1))
    await campaigns.add(campaign)
    pools = InMemoryRewardPools()
    await pools.generate("c1", "S", 5)
    uow, api, now = InMemoryReferralUnitOfWork(records), WeChatApi(), [T0]
    async with WeChatClients(MemoryTokenStore(), transport=httpx.MockTransport(api)) as clients:
        clients.add(APPID, "secret")
        worker = CampaignsWorker(
            settings=CampaignsSettings(),
            directory=CampaignDirectoryAdapter(campaigns, templates),
            uow=lambda: uow,
            store=InMemoryReferrals(records),
            notice_store=InMemoryNotices(records),
            pools=pools,
            clients=clients,
            renderer=Renderer(),
            screenshots=InMemoryShareScreenshots(records),
            analysis=Analyses(),
            ready=lambda: _ready(),
            clock=lambda: now[0],
            payouts=InMemorySharePayouts(records),
        )
        yield Flow(worker, uow, api, records, now, itertools.count(1))


async def _ready() -> bool:
    return True


async def test_approve_then_recheck_then_paid_once(flow: Flow) -> None:
    await flow.join("o_mom")
    await flow.screenshot("o_mom", "post|1分钟前", msg_id="first")
    # Approved, but nothing paid yet: the member is told when.
    assert flow.payout("o_mom") is PayoutState.WAITING and flow.share_grants() == []
    assert flow.texts("o_mom", "share-pending") == ["分享截图审核通过，感谢分享！奖励将在 6 小时后发放。"]

    assert await flow.worker.pay_shares(hours(1)) == []  # nothing due yet
    await flow.screenshot("o_mom", "post|30分钟前|again")  # another picture meanwhile: told it waits
    assert flow.texts("o_mom", "share-already") == ["您的分享截图已审核通过，奖励将按时发放，无需重复发送。"]
    [asked] = await flow.worker.pay_shares(hours(2))
    assert asked.step is Step.ASK and flow.payout("o_mom") is PayoutState.RECHECK_REQUESTED
    [request] = flow.texts("o_mom", "share-recheck")
    assert "24 小时内" in request
    assert await flow.worker.pay_shares(hours(2)) == []  # a second sweep asks nothing more

    # The first screenshot sent again is no fresh one: try again.
    flow.at(hours(3))
    await flow.screenshot("o_mom", "post|1分钟前")
    assert flow.payout("o_mom") is PayoutState.RECHECK_REQUESTED
    assert any("现在重新截取" in text for text in flow.texts("o_mom", "share-recheck-retry"))
    # A fresh screenshot of the same post, three hours old now: passed, paid at the pay time.
    await flow.screenshot("o_mom", "post|3小时前", msg_id="fresh")
    await flow.screenshot("o_mom", "post|3小时前", msg_id="fresh")  # the platform retries the push
    assert flow.payout("o_mom") is PayoutState.RECHECK_PASSED
    assert flow.texts("o_mom", "share-recheck-passed") == ["复查通过，奖励将按时发放。"]
    assert flow.records.payouts["c1:o_mom"].recheck_submission == "wx1:fresh"
    assert flow.share_grants() == []

    flow.at(hours(6))
    [paid] = await flow.worker.pay_shares()
    assert paid.step is Step.PAY and flow.payout("o_mom") is PayoutState.PAID
    assert await flow.worker.pay_shares(hours(7)) == []
    assert flow.share_grants() == ["o_mom"] and flow.granted_events() == ["reward_granted:c1:o_mom:0"]
    [reward] = flow.texts("o_mom", "share-approved")
    assert "奖励券码" in reward and "{code}" not in reward
    tally = await InMemorySharePayouts(flow.records).tally("c1")
    assert tally == {"paid": 1, "recheck_asked": 1}


async def test_no_recheck_by_the_deadline_or_a_failed_one_earns_nothing(flow: Flow) -> None:
    for member in ("o_late", "o_repost", "o_private"):
        await flow.join(member)
        await flow.screenshot(member, f"post|1分钟前|{member}")
    await flow.worker.pay_shares(hours(2))
    assert {flow.payout(m) for m in ("o_late", "o_repost", "o_private")} == {PayoutState.RECHECK_REQUESTED}

    flow.at(hours(5))
    await flow.screenshot("o_repost", "post|2分钟前")  # deleted and posted again
    await flow.screenshot("o_private", "private|5小时前")  # made private since
    assert flow.payout("o_repost") is PayoutState.RECHECK_FAILED
    assert flow.payout("o_private") is PayoutState.RECHECK_FAILED
    [repost] = flow.texts("o_repost", "share-forfeited")
    assert "重新发布" in repost and "未能发放" in repost
    assert flow.records.payouts["c1:o_private"].recheck_reasons == ("private_post",)

    assert await flow.worker.pay_shares(hours(25)) == []
    [expired] = await flow.worker.pay_shares(hours(26))
    assert expired.step is Step.EXPIRE and flow.payout("o_late") is PayoutState.RECHECK_EXPIRED
    assert "未在期限内发送复查截图" in flow.texts("o_late", "share-forfeited")[0]
    # A screenshot after it is over is an ordinary picture from an approved member: nothing changes.
    flow.at(hours(27))
    await flow.screenshot("o_late", "post|1天前")
    assert flow.payout("o_late") is PayoutState.RECHECK_EXPIRED
    assert "未能发放" in flow.texts("o_late", "share-already")[0]

    assert await flow.worker.pay_shares(hours(100)) == []
    assert flow.share_grants() == [] and flow.granted_events() == []
    tally = await InMemorySharePayouts(flow.records).tally("c1")
    assert tally == {"recheck_failed": 2, "recheck_expired": 1, "recheck_asked": 3}


async def test_a_reviewer_approving_starts_the_payout_too(flow: Flow) -> None:
    await flow.join("o_unclear")
    await flow.screenshot("o_unclear", "post||o_unclear", msg_id="unclear")  # no time row read: a person looks
    record = flow.records.submissions["wx1:unclear"]
    assert record.status == "review" and "c1:o_unclear" not in flow.records.payouts
    campaign = await flow.worker.directory.campaign(APPID, "c1")
    assert campaign is not None
    await share_screenshots.settle_review(
        record, campaign, Decision.APPROVE, reviewer="rita", note=None, uow=flow.uow, now=hours(1)
    )
    payout = flow.records.payouts["c1:o_unclear"]
    assert (payout.state, payout.submission_id, payout.approved_at) == (PayoutState.WAITING, "wx1:unclear", hours(1))
    assert payout.recheck_at == hours(3) and flow.share_grants() == []
