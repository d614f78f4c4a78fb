"""The share-screenshot task: a member sends a picture, the platform decides and acts, once.

A picture counts as a submission when its sender takes part in a running campaign that has the task
and has not been approved yet. The picture is fetched (media/get), measured against the poster that
member was issued (in the analysis pool), compared with the campaign's earlier submissions, and
decided. The decision, its audit entry, the share reward (approvals) and the reply are written in one
transaction that also claims the event, so a retried push or a redelivered message changes nothing
the second time; the reply goes out after the commit, like every other notice. The decision (and the
share reward it grants) are emitted on ``campaigns.activity`` in that transaction too.

A person settles what the machine could not (:func:`settle_review`); approving from review grants
the same reward under the same key, so however a member's screenshots are approved, they get one code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any, Literal

import structlog

from services.campaigns.domain import activity
from services.campaigns.domain.campaign import Campaign
from services.campaigns.domain.participants import Notice, Participant, reward_id
from services.campaigns.domain.payouts import PayoutState, RecheckJudgement, SharePayout, judge_recheck
from services.campaigns.domain.referrals import render_message
from services.campaigns.domain.submissions import STATUS, AuditEntry, ClaimHeld, SubmissionRecord, submission_id
from services.campaigns.service_layer import share_payouts
from services.campaigns.service_layer.ports import (
    MediaSource,
    PosterRendererPort,
    ReferralStore,
    ReferralUnitOfWork,
    ScreenshotAnalysis,
    ShareScreenshotStore,
    ShareTaskCampaigns,
)
from services.campaigns.service_layer.posters import poster_of
from services.screenshots import (
    SCREENSHOT_DECISIONS,
    SCREENSHOT_SECONDS,
    Analysed,
    AnalysisTimedOut,
    Conclusion,
    Decision,
    DecisionThresholds,
    Evidence,
    Fingerprint,
    ImageLimits,
    Reason,
    ReferenceUnusable,
    Submission,
    Verdict,
    analysis_timed_out,
    conclude,
    lookup_keys,
    same_post,
)
from shared.contracts import CAMPAIGN_ACTIVITY, ImageMessageReceived
from shared.events import Envelope
from shared.storage import retry_transient
from shared.wechat_client import InvalidMediaId

__all__ = [
    "ALREADY_APPROVED",
    "CONSUMER",
    "RECHECK_CONSUMER",
    "SHARE_REWARD_TIER",
    "AlreadySettled",
    "ShareTask",
    "open_share_task",
    "settle_review",
    "verify_recheck",
    "verify_submission",
]

log = structlog.get_logger("campaigns.share_screenshots")

CONSUMER = "campaigns.share_screenshots"
#: The share reward is recorded with the tier rewards under tier 0: one per member and campaign.
SHARE_REWARD_TIER = 0
ALREADY_APPROVED = "您的分享截图已审核通过，奖励已发放，无需重复发送。"
#: The same, while a delayed payout waits, and once it was forfeited (re-check failed or not sent).
ALREADY_APPROVED_PENDING = "您的分享截图已审核通过，奖励将按时发放，无需重复发送。"
ALREADY_FORFEITED = "您的分享奖励因复查未通过或逾期未复查而未能发放，无需再发送截图。"


async def _already(uow: ReferralUnitOfWork, campaign_id: str, openid: str) -> str:
    """What an approved member reads when they send another picture: where their reward stands."""
    payout = await uow.payouts.get(campaign_id, openid)
    if payout is None or payout.state is PayoutState.PAID:
        return ALREADY_APPROVED
    return ALREADY_APPROVED_PENDING if payout.pending else ALREADY_FORFEITED


_SETTLE_ATTEMPTS = 5


class AlreadySettled(Exception):
    """The submission is not waiting for review (decided automatically, or by another reviewer)."""


@dataclass(frozen=True)
class ShareTask:
    campaign: Campaign
    participant: Participant


async def open_share_task(
    appid: str, openid: str, campaigns: ShareTaskCampaigns, store: ReferralStore, now: datetime
) -> ShareTask | None:
    """The running share-task campaign this member most recently joined and holds a poster of."""
    tasks = []
    for campaign in await campaigns.active(appid):
        if not (campaign.share_screenshot_task and campaign.is_running(now)):
            continue
        participant = await store.participant(campaign.id, openid)
        if participant is not None and participant.qr_url is not None:
            tasks.append(ShareTask(campaign, participant))
    return max(tasks, key=lambda task: task.participant.joined_at, default=None)


def _notice(task_campaign: Campaign, openid: str, kind: str, text: str, event_id: str, at: datetime) -> Notice:
    return Notice(
        id=f"{task_campaign.id}:{openid}:{kind}:{event_id}",
        campaign_id=task_campaign.id,
        appid=task_campaign.appid,
        openid=openid,
        kind=kind,
        text=text,
        created_at=at,
        event_id=event_id,
    )


def _reply(campaign: Campaign, openid: str, verdict: Verdict, event_id: str, at: datetime, note: str | None) -> Notice:
    messages = campaign.messages
    match verdict.decision:
        case Decision.APPROVE:
            # {code} stays a placeholder: the code is allocated when the notice is delivered.
            text = render_message(messages.share_approved, campaign=campaign.name)
            notice = _notice(campaign, openid, "share-approved", text, event_id, at)
            grant = reward_id(campaign.id, openid, SHARE_REWARD_TIER)
            return replace(notice, reward_id=grant, reward_pool=campaign.share_reward_pool)
        case Decision.REJECT:
            reason = note or (verdict.reasons[0].text if verdict.reasons else "截图不符合要求")
            text = messages.render("share_rejected", campaign=campaign.name, reason=reason)
            return _notice(campaign, openid, "share-rejected", text, event_id, at)
        case Decision.REVIEW:
            text = messages.render("share_review", campaign=campaign.name)
            return _notice(campaign, openid, "share-review", text, event_id, at)


async def _poster(task: ShareTask, campaigns: ShareTaskCampaigns, renderer: PosterRendererPort) -> bytes | None:
    participant = task.participant
    spec = await campaigns.poster_spec(task.campaign, nickname="", member=participant.openid)
    if spec is None or participant.qr_url is None:
        return None
    return await poster_of(participant, spec, renderer)


def _unreadable(submission: Submission, reason: Reason) -> Conclusion:
    return Conclusion(submission, Verdict(Decision.REJECT, (reason,)), Evidence(image_problem=reason), _NO_PRINT, 0.0)


def _unusable(submission: Submission) -> Conclusion:
    verdict = Verdict(Decision.REVIEW, (Reason.REFERENCE_UNUSABLE,))
    return Conclusion(submission, verdict, Evidence(), _NO_PRINT, 0.0)


_NO_PRINT = Fingerprint("", None)


async def verify_submission(
    envelope: Envelope,
    message: ImageMessageReceived,
    task: ShareTask,
    *,
    uow: ReferralUnitOfWork,
    reads: ShareScreenshotStore,
    campaigns: ShareTaskCampaigns,
    media: MediaSource,
    renderer: PosterRendererPort,
    analysis: ScreenshotAnalysis,
    thresholds: DecisionThresholds,
    limits: ImageLimits,
    now: datetime,
) -> Decision | None:
    """Decide one picture. None: already handled (a redelivery) or the member was already approved."""
    campaign, openid = task.campaign, message.openid
    submission = Submission(submission_id(envelope.appid, message.msg_id), campaign.id, openid)
    if await reads.get(submission.id) is not None:
        return None
    if await reads.approved(campaign.id, openid):
        async with uow:
            if await uow.claim(CONSUMER, envelope.event_id):
                await uow.store.add_notice(
                    _notice(
                        campaign,
                        openid,
                        "share-already",
                        await _already(uow, campaign.id, openid),
                        envelope.event_id,
                        now,
                    )
                )
                await uow.commit()
        return None

    content, analysed = await _fetch_and_analyse(
        submission, message.media_id, task, campaigns, media, renderer, analysis, limits
    )

    async def record() -> Conclusion | None:
        async with uow:
            if not await uow.claim(CONSUMER, envelope.event_id):
                return None
            if await uow.screenshots.approved(campaign.id, openid):  # approved meanwhile (another picture)
                await uow.store.add_notice(
                    _notice(
                        campaign,
                        openid,
                        "share-already",
                        await _already(uow, campaign.id, openid),
                        envelope.event_id,
                        now,
                    )
                )
                await uow.commit()
                return None
            # Compared inside the transaction: what it reads and the latches it writes are one snapshot,
            # so an alike picture approved meanwhile makes this one conflict rather than pass unseen.
            conclusion = await _decide(analysed, uow.screenshots, thresholds)
            if not await _record(uow, conclusion, envelope, message, task, content, now):
                return None
            await uow.commit()
        return conclusion

    # Two alike pictures approved at the same moment conflict on a latch: tried again, the loser
    # compares with the winner's submission (now committed) and is decided against it.
    conclusion = await retry_transient(record, attempts=_SETTLE_ATTEMPTS)
    if conclusion is None:
        return None
    verdict = conclusion.verdict
    for reason in verdict.reasons or (None,):
        SCREENSHOT_DECISIONS.labels(verdict.decision.value, reason.value if reason else "none", "auto").inc()
    SCREENSHOT_SECONDS.observe(conclusion.ms / 1000)
    log.info("share screenshot decided", campaign=campaign.id, decision=verdict.decision, reasons=verdict.reason_codes)
    return verdict.decision


async def _decide(
    analysed: Analysed | Conclusion, screenshots: ShareScreenshotStore, thresholds: DecisionThresholds
) -> Conclusion:
    if isinstance(analysed, Conclusion):
        return analysed
    earlier = await screenshots.candidates(analysed.submission.campaign_id, lookup_keys(analysed.fingerprint))
    return conclude(analysed, earlier, thresholds)


async def _record(
    uow: ReferralUnitOfWork,
    conclusion: Conclusion,
    envelope: Envelope,
    message: ImageMessageReceived,
    task: ShareTask,
    content: bytes,
    now: datetime,
) -> bool:
    """The decision and its effects, in the caller's transaction; False if it was recorded already."""
    campaign, openid, verdict = task.campaign, message.openid, conclusion.verdict
    submission = conclusion.submission
    record = SubmissionRecord(
        id=submission.id,
        campaign_id=campaign.id,
        appid=envelope.appid,
        openid=openid,
        received_at=message.received_at,
        status=STATUS[verdict.decision],
        decision=verdict.decision.value,
        reasons=verdict.reason_codes,
        evidence=evidence_document(conclusion.evidence),
        fingerprint=conclusion.fingerprint,
        decided_by="auto",
        decided_at=now,
        ms=round(conclusion.ms, 2),
        content_type=_content_type(content),
    )
    if not await uow.screenshots.add(record):
        return False
    # Counted for every submission (which keys the crowd shares), and what makes two alike pictures
    # decided at the same moment conflict.
    await uow.screenshots.latch_reuse(campaign.id, lookup_keys(conclusion.fingerprint))
    await uow.screenshots.audit(
        AuditEntry(submission.id, campaign.id, "auto", verdict.decision.value, verdict.reason_codes, now)
    )
    if verdict.decision is Decision.REVIEW:
        await uow.screenshots.keep_image(submission.id, content, record.content_type or "image/jpeg")
    await _report(uow, record, verdict, "auto", now)
    await _apply(uow, campaign, openid, verdict, envelope.event_id, now, note=None, submission=record.id)
    return True


async def _fetch_and_analyse(
    submission: Submission,
    media_id: str,
    task: ShareTask,
    campaigns: ShareTaskCampaigns,
    media: MediaSource,
    renderer: PosterRendererPort,
    analysis: ScreenshotAnalysis,
    limits: ImageLimits,
) -> tuple[bytes, Analysed | Conclusion]:
    """The picture (empty if it could not be fetched) and its analysis; a picture that cannot be read or
    is too large is concluded already (rejected, with the reason the member is told)."""
    try:
        content = await media.get_media(media_id)
    except InvalidMediaId:
        return b"", _unreadable(submission, Reason.IMAGE_UNREADABLE)
    if len(content) > limits.max_bytes:
        return content, _unreadable(submission, Reason.IMAGE_TOO_LARGE)
    return content, await _analyse(submission, content, task, campaigns, renderer, analysis)


async def _analyse(
    submission: Submission,
    content: bytes,
    task: ShareTask,
    campaigns: ShareTaskCampaigns,
    renderer: PosterRendererPort,
    analysis: ScreenshotAnalysis,
) -> Analysed | Conclusion:
    """The measurements (in the analysis pool), or the conclusion when the poster cannot be checked."""
    poster = await _poster(task, campaigns, renderer)
    payload = task.participant.qr_url
    if poster is None or payload is None:
        return _unusable(submission)
    try:
        result, ms = await analysis.analyze(content, poster, payload)
    except ReferenceUnusable:
        return _unusable(submission)
    except AnalysisTimedOut as exc:
        log.warning("share screenshot analysis timed out", campaign=submission.campaign_id, seconds=exc.seconds)
        return analysis_timed_out(submission, content, exc.seconds)
    return Analysed(submission, result.evidence, result.fingerprint, ms)


async def _apply(
    uow: ReferralUnitOfWork,
    campaign: Campaign,
    openid: str,
    verdict: Verdict,
    event_id: str,
    now: datetime,
    *,
    note: str | None,
    submission: str,
) -> None:
    """The reward (approvals, once per member and campaign) and the reply, in the caller's transaction."""
    if verdict.decision is Decision.APPROVE:
        pool = campaign.share_reward_pool
        if pool is None:  # a task that pays nothing per share: checked and thanked
            text = campaign.messages.render("share_thanked", campaign=campaign.name)
            await uow.store.add_notice(_notice(campaign, openid, "share-thanked", text, event_id, now))
            return
        if not campaign.share_payout.immediate:  # paid later, maybe after a re-check (share_payouts)
            if not await share_payouts.start(uow, campaign, openid, submission, event_id, now):
                await uow.store.add_notice(_notice(campaign, openid, "share-already", ALREADY_APPROVED, event_id, now))
            return
        granted = await uow.store.grant_reward(campaign.id, openid, SHARE_REWARD_TIER, pool, now)
        if not granted:
            await uow.store.add_notice(_notice(campaign, openid, "share-already", ALREADY_APPROVED, event_id, now))
            return
        await uow.emit(CAMPAIGN_ACTIVITY, activity.share_reward_granted(campaign.appid, campaign.id, openid, now))
    await uow.store.add_notice(_reply(campaign, openid, verdict, event_id, now, note))


_OUTCOMES: dict[Decision, activity.Outcome] = {
    Decision.APPROVE: "approved",
    Decision.REJECT: "rejected",
    Decision.REVIEW: "queued",
}


async def _report(
    uow: ReferralUnitOfWork,
    record: SubmissionRecord,
    verdict: Verdict,
    decided_by: Literal["auto", "reviewer"],
    now: datetime,
) -> None:
    """The decision on ``campaigns.activity``, in the caller's transaction."""
    decided = activity.screenshot_decided(
        record.appid,
        record.campaign_id,
        record.openid,
        submission_id=record.id,
        outcome=_OUTCOMES[verdict.decision],
        reasons=verdict.reason_codes,
        decided_by=decided_by,
        submitted_at=record.received_at,
        decided_at=now,
    )
    await uow.emit(CAMPAIGN_ACTIVITY, decided)


async def settle_review(
    record: SubmissionRecord,
    campaign: Campaign,
    decision: Decision,
    *,
    reviewer: str,
    note: str | None,
    uow: ReferralUnitOfWork,
    now: datetime,
    reviewer_id: str | None = None,
    reason: Reason | None = None,
) -> str:
    """A reviewer's decision on a submission in review. Returns the event id its reply is queued under.

    ``reason`` (rejections) is the reviewer's reason code: the member reads its text unless a note is
    given. Raises :class:`AlreadySettled`, or :class:`ClaimHeld` while someone other than
    ``reviewer_id`` holds a live claim on the submission."""
    if decision is Decision.REVIEW:
        raise ValueError("a reviewer approves or rejects")
    event_id = f"review:{record.id}"
    if reason is not None:
        reasons: tuple[Reason, ...] = (reason,)
    else:
        reasons = tuple(Reason(code) for code in record.reasons if code in Reason.__members__.values())

    async def settle() -> None:
        async with uow:
            settled = await uow.screenshots.settle_review(
                record.id,
                decision,
                reviewer,
                note,
                now,
                reviewer_id=reviewer_id,
                reason=None if reason is None else reason.value,
            )
            if settled is None:
                current = await uow.screenshots.get(record.id)
                if current is not None and current.status == "review":
                    held = current.claimed_by_other(reviewer_id, now)
                    if held is not None:
                        raise ClaimHeld(record.id, held)
                raise AlreadySettled(record.id)
            await uow.screenshots.audit(
                AuditEntry(record.id, campaign.id, reviewer, decision.value, [r.value for r in reasons], now, note)
            )
            await _report(uow, settled, Verdict(decision, reasons), "reviewer", now)
            await _apply(
                uow, campaign, record.openid, Verdict(decision, reasons), event_id, now, note=note, submission=record.id
            )
            await uow.commit()

    # Two reviewers at once: one transaction wins, the other conflicts and, tried again, finds the
    # submission settled (AlreadySettled is not transient: it goes straight to the caller).
    await retry_transient(settle, attempts=_SETTLE_ATTEMPTS)
    SCREENSHOT_DECISIONS.labels(decision.value, reasons[0].value if reasons else "none", "reviewer").inc()
    return event_id


RECHECK_CONSUMER = "campaigns.share_rechecks"


async def verify_recheck(
    envelope: Envelope,
    message: ImageMessageReceived,
    payout: SharePayout,
    task: ShareTask,
    *,
    uow: ReferralUnitOfWork,
    reads: ShareScreenshotStore,
    campaigns: ShareTaskCampaigns,
    media: MediaSource,
    renderer: PosterRendererPort,
    analysis: ScreenshotAnalysis,
    thresholds: DecisionThresholds,
    limits: ImageLimits,
    now: datetime,
) -> RecheckJudgement | None:
    """Judge a member's re-check screenshot (asked for by the payout sweep): the same post as their
    approved one, still there. Passed: the payout goes on (paid now if its time has come); failed: the
    reward is forfeited; anything unclear: they are told why and may send another until the deadline.
    None: already handled (a redelivery) or no re-check is awaited any more.

    Checked as any submission (the member's own code, their poster, a public Moments post of their
    own) against the campaign's earlier submissions of *other* members: the member's own approved
    screenshot of the same post is what it must resemble, not a copy to reject."""
    campaign, openid = task.campaign, message.openid
    submission = Submission(submission_id(envelope.appid, message.msg_id), campaign.id, openid)
    first = await reads.get(payout.submission_id)
    _, analysed = await _fetch_and_analyse(
        submission, message.media_id, task, campaigns, media, renderer, analysis, limits
    )

    async def record() -> RecheckJudgement | None:
        async with uow:
            if not await uow.claim(RECHECK_CONSUMER, envelope.event_id):
                return None
            current = await uow.payouts.get(campaign.id, openid)
            if current is None or current.state is not PayoutState.RECHECK_REQUESTED:
                await uow.commit()
                return None
            if isinstance(analysed, Conclusion):
                conclusion = analysed
            else:
                found = await uow.screenshots.candidates(campaign.id, lookup_keys(analysed.fingerprint))
                conclusion = conclude(analysed, [shot for shot in found if shot.user != openid], thresholds)
            verdict = conclusion.verdict
            judgement, reason = judge_recheck(
                decision=verdict.decision.value,
                reasons=tuple(verdict.reason_codes),
                same_file=first is not None and first.fingerprint.sha256 == conclusion.fingerprint.sha256,
                same_surroundings=None if first is None else same_post(first.fingerprint, conclusion.fingerprint),
                time_word=conclusion.evidence.time_word,
                first_submitted_at=payout.approved_at if first is None else first.received_at,
                now=message.received_at,
            )
            await _settle_recheck(uow, campaign, current, judgement, reason, submission.id, envelope.event_id, now)
            await uow.commit()
        log.info("share re-check judged", campaign=campaign.id, judgement=judgement.value, reason=reason)
        return judgement

    return await retry_transient(record, attempts=_SETTLE_ATTEMPTS)


async def _settle_recheck(
    uow: ReferralUnitOfWork,
    campaign: Campaign,
    payout: SharePayout,
    judgement: RecheckJudgement,
    reason: str | None,
    submission: str,
    event_id: str,
    now: datetime,
) -> None:
    match judgement:
        case RecheckJudgement.PASSED:
            passed = payout.pass_recheck(now, submission)
            if now >= passed.pay_at:  # its time has come: paid with the answer
                paid = passed.pay(now)
                await uow.payouts.move(payout, paid)
                await share_payouts.pay(uow, campaign, paid, event_id, now)
                return
            await uow.payouts.move(payout, passed)
            text = campaign.messages.render("share_recheck_passed", campaign=campaign.name)
            await uow.store.add_notice(share_payouts.payout_notice(passed, "share-recheck-passed", text, event_id, now))
        case RecheckJudgement.FAILED:
            assert reason is not None
            failed = payout.fail_recheck(now, submission, (reason,))
            await uow.payouts.move(payout, failed)
            text = _reason_text(reason)
            await uow.store.add_notice(share_payouts.forfeited_notice(campaign, failed, text, event_id, now))
        case RecheckJudgement.RETRY:
            text = campaign.messages.render(
                "share_rejected", campaign=campaign.name, reason=_reason_text(reason or "unclear")
            )
            await uow.store.add_notice(share_payouts.payout_notice(payout, "share-recheck-retry", text, event_id, now))


def _reason_text(code: str) -> str:
    """What the member reads for a re-check's reason: the verifier's own text, or the payout's."""
    if code in Reason.__members__.values():
        return Reason(code).text
    return share_payouts.REASON_TEXTS.get(code, "截图不够清晰，请重新截图")


def evidence_document(evidence: Evidence) -> dict[str, Any]:
    """The evidence as stored and shown to reviewers (boxes as lists, enums as strings)."""
    doc = asdict(evidence)
    for name, value in list(doc.items()):
        if hasattr(value, "value"):
            doc[name] = value.value
    doc["boxes"] = {name: list(box) for name, box in evidence.boxes.items()}
    doc["qr_payloads"] = list(evidence.qr_payloads)
    return doc


def _content_type(content: bytes) -> str | None:
    if content.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG"):
        return "image/png"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return None
