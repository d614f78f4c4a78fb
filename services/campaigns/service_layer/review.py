"""The share-screenshot review queue: what the machine could not decide, for a person to settle.

A reviewer lists a campaign's (or the whole account's) submissions, claims one so nobody else works
on it (:func:`claim`, :func:`claim_next`), looks at it (its evidence, audit trail and picture), and
approves or rejects it. Settling grants the share reward under the same key as an automatic approval
(see :func:`~services.campaigns.service_layer.share_screenshots.settle_review`) and sends the member
the reply right away when this service holds the account's credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from services.campaigns.domain.campaign import Campaign, CampaignError
from services.campaigns.domain.submissions import CLAIM_LEASE, AuditEntry, Claim, ClaimHeld, SubmissionRecord
from services.campaigns.service_layer import notices
from services.campaigns.service_layer.management import load_campaign
from services.campaigns.service_layer.ports import (
    CampaignRepository,
    Messenger,
    NoticeStore,
    ReferralStore,
    ReferralUnitOfWork,
    RewardLedger,
    RewardPools,
    ShareScreenshotStore,
)
from services.campaigns.service_layer.share_screenshots import AlreadySettled, settle_review
from services.screenshots import Decision, Reason
from shared.wechat_client import TokenUnavailable, TransportError, WeChatApiError

log = structlog.get_logger("campaigns.review")

__all__ = [
    "AccountQueue",
    "Earlier",
    "NotInReview",
    "PictureNotKept",
    "QrOwner",
    "Queue",
    "ReviewEvidence",
    "Reviewed",
    "SubmissionNotFound",
    "UnknownReason",
    "account_queue",
    "account_submission",
    "claim",
    "claim_next",
    "evidence",
    "queue",
    "release",
    "settle",
    "submission",
    "submission_picture",
]


class SubmissionNotFound(LookupError):
    def __init__(self, submission_id: str, campaign_id: str | None, *, appid: str | None = None) -> None:
        where = f"campaign {campaign_id!r}" if campaign_id is not None else f"account {appid!r}"
        super().__init__(f"no submission {submission_id!r} in {where}")


class PictureNotKept(LookupError):
    def __init__(self) -> None:
        super().__init__("the picture is kept only for submissions that went to review")


class NotInReview(CampaignError):
    """Someone (the machine, or another reviewer) has settled the submission already."""


class UnknownReason(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(f"unknown reason code {code!r}")


@dataclass(frozen=True)
class Queue:
    records: list[SubmissionRecord]
    #: All submissions of the campaign by status.
    counts: dict[str, int]


async def queue(
    campaigns: CampaignRepository,
    screenshots: ShareScreenshotStore,
    appid: str,
    campaign_id: str,
    *,
    status: str | None,
    reason: str | None,
    older_than_minutes: int | None,
    limit: int,
    offset: int,
    now: datetime,
    openid: str | None = None,
) -> Queue:
    """Submissions, oldest first: by status (``review`` is the queue), reason, member and age."""
    _known_reason(reason)
    campaign = await load_campaign(campaigns, appid, campaign_id)
    before = None if older_than_minutes is None else now - timedelta(minutes=older_than_minutes)
    records = await screenshots.listing(
        campaign.id, status=status, reason=reason, received_before=before, limit=limit, offset=offset, openid=openid
    )
    return Queue(records, await screenshots.counts(campaign.id))


def _known_reason(reason: str | None) -> None:
    if reason is not None and reason not in {r.value for r in Reason}:
        raise UnknownReason(reason)


@dataclass(frozen=True)
class AccountQueue:
    records: list[SubmissionRecord]
    #: The names of the campaigns the records belong to, by id.
    campaign_names: dict[str, str]
    #: The account's (or the campaign's) submissions by status.
    counts: dict[str, int]


async def account_queue(
    campaigns: CampaignRepository,
    screenshots: ShareScreenshotStore,
    appid: str,
    *,
    campaign_id: str | None,
    status: str | None,
    reason: str | None,
    openid: str | None,
    limit: int,
    offset: int,
) -> AccountQueue:
    """The account's submissions across its campaigns: the review queue oldest first (who waited
    longest comes first), decided ones newest first (what just happened)."""
    _known_reason(reason)
    if campaign_id is not None:
        campaign_id = (await load_campaign(campaigns, appid, campaign_id)).id
    records = await screenshots.account_listing(
        appid,
        campaign_id=campaign_id,
        status=status,
        reason=reason,
        openid=openid,
        limit=limit,
        offset=offset,
        newest_first=status != "review",
    )
    names: dict[str, str] = {}
    for campaign_of in {record.campaign_id for record in records}:
        found = await campaigns.get(appid, campaign_of)
        names[campaign_of] = found.name if found is not None else campaign_of
    return AccountQueue(records, names, await screenshots.account_counts(appid, campaign_id))


@dataclass(frozen=True)
class Reviewed:
    """One submission as a reviewer sees it."""

    campaign: Campaign
    record: SubmissionRecord
    audit: list[AuditEntry]
    has_picture: bool


async def _record(
    campaigns: CampaignRepository, screenshots: ShareScreenshotStore, appid: str, campaign_id: str, submission_id: str
) -> tuple[Campaign, SubmissionRecord]:
    campaign = await load_campaign(campaigns, appid, campaign_id)
    record = await screenshots.get(submission_id)
    if record is None or record.campaign_id != campaign.id:
        raise SubmissionNotFound(submission_id, campaign.id)
    return campaign, record


async def _account_record(
    campaigns: CampaignRepository, screenshots: ShareScreenshotStore, appid: str, submission_id: str
) -> tuple[Campaign, SubmissionRecord]:
    record = await screenshots.get(submission_id)
    if record is None or record.appid != appid:
        raise SubmissionNotFound(submission_id, None, appid=appid)
    return await load_campaign(campaigns, appid, record.campaign_id), record


async def _reviewed(screenshots: ShareScreenshotStore, campaign: Campaign, record: SubmissionRecord) -> Reviewed:
    has_picture = await screenshots.image(record.id) is not None
    return Reviewed(campaign, record, await screenshots.trail(record.id), has_picture)


async def submission(
    campaigns: CampaignRepository, screenshots: ShareScreenshotStore, appid: str, campaign_id: str, submission_id: str
) -> Reviewed:
    campaign, record = await _record(campaigns, screenshots, appid, campaign_id, submission_id)
    return await _reviewed(screenshots, campaign, record)


async def account_submission(
    campaigns: CampaignRepository, screenshots: ShareScreenshotStore, appid: str, submission_id: str
) -> Reviewed:
    """One submission of any of the account's campaigns."""
    campaign, record = await _account_record(campaigns, screenshots, appid, submission_id)
    return await _reviewed(screenshots, campaign, record)


# -- what a reviewer needs to decide, in one read ----------------------------------------------------


@dataclass(frozen=True)
class QrOwner:
    """A decoded QR payload and whose referral code it is (None: nobody's in this account)."""

    payload: str
    openid: str | None
    campaign_id: str | None
    is_submitter: bool


@dataclass(frozen=True)
class Earlier:
    """The earlier submission a screenshot resembles (None when it is gone)."""

    id: str
    record: SubmissionRecord | None
    has_picture: bool


@dataclass(frozen=True)
class ReviewEvidence:
    qr_owners: list[QrOwner]
    reused_from: Earlier | None
    #: The member's other submissions in the campaign, oldest first.
    history: list[SubmissionRecord]


async def evidence(
    reviewed: Reviewed, screenshots: ShareScreenshotStore, participants: ReferralStore
) -> ReviewEvidence:
    """Whose QR codes the screenshot shows, the earlier screenshot it resembles and the member's history."""
    record = reviewed.record
    owners = []
    for payload in record.evidence.get("qr_payloads", []):
        owner = await participants.participant_by_qr_url(record.appid, str(payload))
        if owner is None:
            owners.append(QrOwner(str(payload), None, None, False))
        else:
            mine = owner.openid == record.openid and owner.campaign_id == record.campaign_id
            owners.append(QrOwner(str(payload), owner.openid, owner.campaign_id, mine))
    earlier = None
    if (reused_from := record.evidence.get("reused_from")) is not None:
        found = await screenshots.get(str(reused_from))
        has_picture = found is not None and await screenshots.image(found.id) is not None
        earlier = Earlier(str(reused_from), found, has_picture)
    history = [r for r in await screenshots.of_member(record.campaign_id, record.openid) if r.id != record.id]
    return ReviewEvidence(owners, earlier, history)


# -- claims: one reviewer per submission at a time ----------------------------------------------------


async def claim(
    campaigns: CampaignRepository,
    screenshots: ShareScreenshotStore,
    appid: str,
    submission_id: str,
    *,
    holder_id: str,
    holder_name: str,
    now: datetime,
) -> SubmissionRecord:
    """Claim a submission in review for :data:`CLAIM_LEASE` (again: renewed). Raises
    :class:`ClaimHeld` naming the holder of a live claim, :class:`NotInReview` once it is decided."""
    _, record = await _account_record(campaigns, screenshots, appid, submission_id)
    claimed = await screenshots.claim(record.id, Claim(holder_id, holder_name, now + CLAIM_LEASE), now)
    if claimed is not None:
        return claimed
    current = await screenshots.get(record.id) or record
    if current.status != "review":
        raise NotInReview(f"already {current.status} by {current.decided_by}; only submissions in review are claimed")
    held = current.claimed_by_other(holder_id, now)
    assert held is not None  # in review, and not claimable: someone else holds it
    raise ClaimHeld(record.id, held)


async def claim_next(
    campaigns: CampaignRepository,
    screenshots: ShareScreenshotStore,
    appid: str,
    *,
    campaign_id: str | None,
    holder_id: str,
    holder_name: str,
    now: datetime,
) -> Reviewed | None:
    """Claim the oldest submission in review nobody else holds (one of the caller's own first, if it
    is the oldest); None when the queue is empty."""
    if campaign_id is not None:
        campaign_id = (await load_campaign(campaigns, appid, campaign_id)).id
    claimed = await screenshots.claim_next(appid, campaign_id, Claim(holder_id, holder_name, now + CLAIM_LEASE), now)
    if claimed is None:
        return None
    return await _reviewed(screenshots, await load_campaign(campaigns, appid, claimed.campaign_id), claimed)


async def release(
    campaigns: CampaignRepository,
    screenshots: ShareScreenshotStore,
    appid: str,
    submission_id: str,
    *,
    holder_id: str,
    now: datetime,
) -> None:
    """Drop one's claim (or a lapsed one); raises :class:`ClaimHeld` while another's is live."""
    _, record = await _account_record(campaigns, screenshots, appid, submission_id)
    if not await screenshots.release(record.id, holder_id, now):
        current = await screenshots.get(record.id) or record
        held = current.claimed_by_other(holder_id, now)
        if held is not None:
            raise ClaimHeld(record.id, held)


async def submission_picture(
    campaigns: CampaignRepository, screenshots: ShareScreenshotStore, appid: str, campaign_id: str, submission_id: str
) -> tuple[SubmissionRecord, bytes, str]:
    """The submission, its kept picture and the picture's content type."""
    _, record = await _record(campaigns, screenshots, appid, campaign_id, submission_id)
    stored = await screenshots.image(record.id)
    if stored is None:
        raise PictureNotKept()
    content, content_type = stored
    return record, content, content_type


async def settle(
    campaigns: CampaignRepository,
    screenshots: ShareScreenshotStore,
    appid: str,
    campaign_id: str | None,
    submission_id: str,
    decision: Decision,
    *,
    reviewer: str,
    note: str | None,
    uow: ReferralUnitOfWork,
    notice_store: NoticeStore,
    rewards: RewardLedger,
    codes: RewardPools,
    messenger: Messenger | None,
    now: datetime,
    reviewer_id: str | None = None,
    reason: Reason | None = None,
) -> SubmissionRecord:
    """A reviewer's approval or rejection, and the member's reply (sent now if ``messenger`` is given;
    otherwise it stays queued for the worker's next delivery to this member).

    ``campaign_id`` None: any campaign of the account (the account-level routes). Refused with
    :class:`ClaimHeld` while someone other than ``reviewer_id`` holds a live claim; a decision drops
    the claim."""
    if campaign_id is None:
        campaign, record = await _account_record(campaigns, screenshots, appid, submission_id)
    else:
        campaign, record = await _record(campaigns, screenshots, appid, campaign_id, submission_id)
    try:
        event_id = await settle_review(
            record,
            campaign,
            decision,
            reviewer=reviewer,
            note=note,
            uow=uow,
            now=now,
            reviewer_id=reviewer_id,
            reason=reason,
        )
    except AlreadySettled:
        current = await screenshots.get(record.id) or record
        raise NotInReview(
            f"already {current.status} by {current.decided_by}; only submissions in review can be settled"
        ) from None
    queued = await notice_store.queued_by(event_id)
    if queued and messenger is not None:
        sender: Messenger = messenger

        def reply_to(appid: str) -> Messenger:
            return sender  # every notice of one settlement goes to one member of this account

        try:
            await notices.deliver(
                queued, store=notice_store, codes=codes, rewards=rewards, messenger_for=reply_to, now=now
            )
        except (TransportError, TokenUnavailable, WeChatApiError) as exc:
            # The decision is committed: answering 500 would make the reviewer decide again (409). The
            # reply stays queued, and the worker sends it with its next delivery to this member.
            log.warning("review reply left queued", submission=record.id, error=str(exc))
    settled = await screenshots.get(record.id)
    assert settled is not None
    return settled
