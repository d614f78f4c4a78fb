"""The account-wide review desk: the queue across campaigns, claims (one reviewer per submission),
decisions under claims, reject reason codes, and the evidence a reviewer reads in one go."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from services.campaigns.adapters.memory import InMemoryReferrals, InMemoryReferralUnitOfWork
from services.campaigns.domain.campaign import Campaign
from services.campaigns.domain.participants import Participant
from services.campaigns.domain.submissions import CLAIM_LEASE, REJECT_REASONS, ClaimHeld, SubmissionRecord
from services.campaigns.service_layer import review
from services.screenshots import Decision, Fingerprint, Reason
from shared.wechat_client import Text, TransportError
from tests.unit.campaigns.test_review import APPID, NOW, Desk

LI, WANG = ("op-li", "ops-li"), ("op-wang", "ops-wang")


async def add(
    desk: Desk,
    campaign: Campaign,
    name: str,
    *,
    status: str = "review",
    minutes_ago: int = 30,
    openid: str | None = None,
    reasons: tuple[str, ...] = ("possibly_reused",),
    evidence: dict[str, Any] | None = None,
    picture: bool = True,
) -> SubmissionRecord:
    decision = {"review": "review", "approved": "approve", "rejected": "reject"}[status]
    record = SubmissionRecord(
        id=f"{APPID}:{name}",
        campaign_id=campaign.id,
        appid=APPID,
        openid=openid or f"o_{name}",
        received_at=NOW - timedelta(minutes=minutes_ago),
        status=status,
        decision=decision,
        reasons=list(reasons),
        evidence=evidence or {"boxes": {}},
        fingerprint=Fingerprint(f"sha-{name}", None),
        decided_by="auto",
        decided_at=NOW - timedelta(minutes=minutes_ago),
    )
    assert await desk.screenshots.add(record)
    if picture:
        await desk.screenshots.keep_image(record.id, b"\xff\xd8picture", "image/jpeg")
    return record


async def claim(desk: Desk, submission: str, who: tuple[str, str], at: timedelta = timedelta()) -> SubmissionRecord:
    holder_id, holder_name = who
    return await review.claim(
        desk.campaigns, desk.screenshots, APPID, submission, holder_id=holder_id, holder_name=holder_name, now=NOW + at
    )


async def claim_next(
    desk: Desk, who: tuple[str, str], campaign_id: str | None = None, at: timedelta = timedelta()
) -> review.Reviewed | None:
    return await review.claim_next(
        desk.campaigns,
        desk.screenshots,
        APPID,
        campaign_id=campaign_id,
        holder_id=who[0],
        holder_name=who[1],
        now=NOW + at,
    )


async def decide(
    desk: Desk,
    submission: str,
    decision: Decision,
    who: tuple[str, str],
    *,
    reason: Reason | None = None,
    note: str | None = None,
    at: timedelta = timedelta(),
) -> SubmissionRecord:
    return await review.settle(
        desk.campaigns,
        desk.screenshots,
        APPID,
        None,
        submission,
        decision,
        reviewer=who[1],
        reviewer_id=who[0],
        reason=reason,
        note=note,
        uow=InMemoryReferralUnitOfWork(desk.records),
        notice_store=desk.notices,
        rewards=desk.notices,
        codes=desk.pools,
        messenger=desk.outbox,
        now=NOW + at,
    )


async def test_the_account_queue_spans_campaigns_oldest_first_with_names_and_counts() -> None:
    desk = Desk()
    spring, autumn = await desk.campaign(), await desk.campaign()
    await desk.campaigns.save(replace(autumn, name="秋季晒图"))
    await add(desk, spring, "new", minutes_ago=5)
    await add(desk, autumn, "old", minutes_ago=90, reasons=("qr_unreadable",))
    await add(desk, spring, "done", status="approved", minutes_ago=60)
    await add(desk, spring, "later", status="rejected", minutes_ago=10, openid="o_new")

    async def ids(**query: Any) -> list[str]:
        filters: dict[str, Any] = {"campaign_id": None, "status": None, "reason": None, "openid": None}
        found = await review.account_queue(
            desk.campaigns, desk.screenshots, APPID, **(filters | query), limit=10, offset=0
        )
        return [record.id.split(":")[1] for record in found.records]

    assert await ids(status="review") == ["old", "new"]  # who waited longest first
    assert await ids(status="approved") == ["done"]
    assert await ids() == ["new", "later", "done", "old"]  # decided (or everything): newest first
    assert await ids(status="review", campaign_id=spring.id) == ["new"]
    assert await ids(reason="qr_unreadable") == ["old"]
    assert await ids(openid="o_new") == ["new", "later"]

    found = await review.account_queue(
        desk.campaigns,
        desk.screenshots,
        APPID,
        campaign_id=None,
        status="review",
        reason=None,
        openid=None,
        limit=10,
        offset=0,
    )
    assert found.campaign_names == {spring.id: "晒图有礼", autumn.id: "秋季晒图"}
    assert found.counts == {"review": 2, "approved": 1, "rejected": 1}
    with pytest.raises(review.UnknownReason):
        await ids(reason="made_up")


async def test_a_claim_keeps_other_reviewers_off_until_released_or_lapsed() -> None:
    desk = Desk()
    campaign = await desk.campaign()
    shot = (await add(desk, campaign, "mom")).id

    held = await claim(desk, shot, LI)
    assert held.claim is not None and (held.claim.holder_name, held.claim.until) == ("ops-li", NOW + CLAIM_LEASE)
    renewed = await claim(desk, shot, LI, at=timedelta(minutes=3))  # claiming again renews the lease
    assert renewed.claim is not None and renewed.claim.until == NOW + timedelta(minutes=3) + CLAIM_LEASE

    with pytest.raises(ClaimHeld, match="claimed by ops-li") as refused:
        await claim(desk, shot, WANG, at=timedelta(minutes=4))
    assert refused.value.claim.holder_id == "op-li"
    with pytest.raises(ClaimHeld):  # only the holder releases a live claim
        await review.release(desk.campaigns, desk.screenshots, APPID, shot, holder_id="op-wang", now=NOW)

    await review.release(desk.campaigns, desk.screenshots, APPID, shot, holder_id="op-li", now=NOW)
    await review.release(desk.campaigns, desk.screenshots, APPID, shot, holder_id="op-li", now=NOW)  # idempotent
    assert (await claim(desk, shot, WANG)).claim is not None

    lapsed = timedelta(minutes=5, seconds=1)
    taken = await claim(desk, shot, LI, at=lapsed)  # WANG's claim has lapsed
    assert taken.claim is not None and taken.claim.holder_id == "op-li"

    with pytest.raises(review.SubmissionNotFound):
        await claim(desk, f"{APPID}:nope", LI)
    decided = (await add(desk, campaign, "dad", status="approved")).id
    with pytest.raises(review.NotInReview):
        await claim(desk, decided, LI)


async def test_claim_next_gives_each_reviewer_a_different_submission_oldest_first() -> None:
    desk = Desk()
    campaign, other = await desk.campaign(), await desk.campaign()
    await add(desk, campaign, "old", minutes_ago=60)
    await add(desk, other, "middle", minutes_ago=30)
    await add(desk, campaign, "new", minutes_ago=5)
    await add(desk, campaign, "done", status="approved", minutes_ago=90)

    first = await claim_next(desk, LI)
    assert first is not None and first.record.id == f"{APPID}:old" and first.has_picture
    again = await claim_next(desk, LI)  # one's own claim is not someone else's: the same item, renewed
    assert again is not None and again.record.id == f"{APPID}:old"
    second = await claim_next(desk, WANG)
    assert second is not None and second.record.id == f"{APPID}:middle"
    third = await claim_next(desk, ("op-zhao", "ops-zhao"), campaign_id=campaign.id)
    assert third is not None and third.record.id == f"{APPID}:new"
    assert await claim_next(desk, ("op-zhao", "ops-zhao"), campaign_id=other.id) is None
    # Once the leases lapse the oldest is free again.
    later = await claim_next(desk, ("op-zhao", "ops-zhao"), at=CLAIM_LEASE)
    assert later is not None and later.record.id == f"{APPID}:old"


async def test_concurrent_claim_next_never_hands_out_one_submission_twice() -> None:
    desk = Desk()
    campaign = await desk.campaign()
    for n in range(5):
        await add(desk, campaign, f"s{n}", minutes_ago=60 - n)
    got = await asyncio.gather(*(claim_next(desk, (f"op-{n}", f"ops-{n}")) for n in range(8)))
    claimed = [found.record.id for found in got if found is not None]
    assert sorted(claimed) == sorted(f"{APPID}:s{n}" for n in range(5))
    assert got.count(None) == 3


async def test_a_decision_is_refused_under_another_reviewers_claim_and_drops_the_claim() -> None:
    desk = Desk()
    campaign = await desk.campaign()
    await desk.pools.add_codes(campaign.id, "S", ["SHARE001"])
    shot = (await add(desk, campaign, "mom")).id
    await claim(desk, shot, LI)

    with pytest.raises(ClaimHeld, match="claimed by ops-li"):
        await decide(desk, shot, Decision.APPROVE, WANG)
    assert desk.records.rewards == {} and desk.outbox.sent == []

    settled = await decide(desk, shot, Decision.APPROVE, LI)
    assert (settled.status, settled.decided_by, settled.claim) == ("approved", "ops-li", None)
    assert len(desk.records.rewards) == 1
    # Deciding again stays refused as before (409 naming who decided), and pays nothing twice.
    with pytest.raises(review.NotInReview, match="already approved by ops-li"):
        await decide(desk, shot, Decision.APPROVE, LI)
    assert len(desk.records.rewards) == 1 and len(desk.outbox.sent) == 1

    # An unclaimed submission, or one whose claim lapsed, anyone may decide.
    dad = (await add(desk, campaign, "dad")).id
    await claim(desk, dad, LI)
    lapsed = await decide(desk, dad, Decision.REJECT, WANG, at=CLAIM_LEASE + timedelta(seconds=1))
    assert lapsed.decided_by == "ops-wang"


async def test_a_rejection_with_a_reason_code_replies_with_its_text_and_records_it() -> None:
    desk = Desk()
    campaign = await desk.campaign()
    shot = (await add(desk, campaign, "mom", reasons=("not_own_post",))).id

    settled = await decide(desk, shot, Decision.REJECT, LI, reason=Reason.PRIVATE_POST)
    assert (settled.status, settled.review_reason, settled.reasons) == ("rejected", "private_post", ["not_own_post"])
    [(openid, reply)] = desk.outbox.sent
    assert openid == "o_mom" and isinstance(reply, Text) and Reason.PRIVATE_POST.text in reply.content
    [entry] = await desk.screenshots.trail(shot)
    assert (entry.actor, entry.decision, entry.reasons) == ("ops-li", "reject", ["private_post"])

    # A note still wins over the reason's text: it is what the reviewer wrote for this member.
    dad = (await add(desk, campaign, "dad")).id
    await decide(desk, dad, Decision.REJECT, LI, reason=Reason.PRIVATE_POST, note="请公开后重发")
    assert isinstance(desk.outbox.sent[-1][1], Text) and "请公开后重发" in desk.outbox.sent[-1][1].content


def test_the_reject_reasons_are_the_verifiers_rejections_each_with_both_labels() -> None:
    assert Reason.PRIVATE_POST in REJECT_REASONS and Reason.REUSED_SCREENSHOT in REJECT_REASONS
    # Review reasons tell the member a person will look: no text to reject with.
    assert Reason.POSSIBLY_REUSED not in REJECT_REASONS and Reason.QR_UNREADABLE not in REJECT_REASONS
    assert all(reason.text and label for reason, label in REJECT_REASONS.items())


async def test_the_evidence_names_whose_qr_code_the_earlier_shot_and_the_members_history() -> None:
    desk = Desk()
    campaign = await desk.campaign()
    participants = InMemoryReferrals(desk.records)
    for openid in ("o_mom", "o_dad"):
        member = Participant(campaign.id, APPID, openid, f"code-{openid}", NOW, "qr", qr_url=f"https://qr/{openid}")
        await participants.add_participant(member)
    earlier = await add(desk, campaign, "dad1", status="approved", openid="o_dad", minutes_ago=120)
    await add(desk, campaign, "mom1", status="rejected", openid="o_mom", minutes_ago=60, picture=False)
    shot = await add(
        desk,
        campaign,
        "mom2",
        openid="o_mom",
        evidence={"qr": "own", "qr_payloads": ["https://qr/o_mom", "https://qr/o_dad", "https://elsewhere"]},
        minutes_ago=10,
    )
    await add(desk, campaign, "mom3", openid="o_mom", evidence={"reused_from": earlier.id}, minutes_ago=5)

    found = await review.account_submission(desk.campaigns, desk.screenshots, APPID, shot.id)
    seen = await review.evidence(found, desk.screenshots, participants)
    assert seen.qr_owners == [
        review.QrOwner("https://qr/o_mom", "o_mom", campaign.id, True),
        review.QrOwner("https://qr/o_dad", "o_dad", campaign.id, False),
        review.QrOwner("https://elsewhere", None, None, False),
    ]
    assert seen.reused_from is None
    assert [r.id for r in seen.history] == [f"{APPID}:mom1", f"{APPID}:mom3"]

    again = await review.account_submission(desk.campaigns, desk.screenshots, APPID, f"{APPID}:mom3")
    reused = (await review.evidence(again, desk.screenshots, participants)).reused_from
    assert reused is not None and reused.record is not None
    assert (reused.id, reused.record.openid, reused.record.status, reused.has_picture) == (
        earlier.id,
        "o_dad",
        "approved",
        True,
    )
    with pytest.raises(review.SubmissionNotFound, match="in account 'wx2'"):
        await review.account_submission(desk.campaigns, desk.screenshots, "wx2", shot.id)


class Unreachable:
    async def send_custom_message(self, openid: str, message: Any) -> None:
        raise TransportError("message/custom/send", "ConnectError")


async def test_a_reply_that_cannot_be_sent_now_stays_queued_and_the_decision_stands() -> None:
    desk = Desk()
    campaign = await desk.campaign()
    shot = (await add(desk, campaign, "mom")).id
    settled = await review.settle(
        desk.campaigns,
        desk.screenshots,
        APPID,
        campaign.id,
        shot,
        Decision.REJECT,
        reviewer="ops-li",
        note=None,
        uow=InMemoryReferralUnitOfWork(desk.records),
        notice_store=desk.notices,
        rewards=desk.notices,
        codes=desk.pools,
        messenger=Unreachable(),
        now=NOW,
    )
    assert settled.status == "rejected"
    assert [n.kind for n in await desk.notices.queued_by(f"review:{shot}")] == ["share-rejected"]
