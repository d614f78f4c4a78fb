"""The share-screenshot review queue: what the machine could not decide, for a person to settle.

A reviewer lists a campaign's submissions, looks at one (its evidence, audit trail and picture), and
approves or rejects it. Settling grants the share reward under the same key as an automatic approval
(see :func:`~services.campaigns.service_layer.share_screenshots.settle_review`) and sends the member
the reply right away when this service holds the account's credentials.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.campaigns.domain.campaign import Campaign, CampaignError
from services.campaigns.domain.submissions import AuditEntry, SubmissionRecord
from services.campaigns.service_layer import notices
from services.campaigns.service_layer.management import load_campaign
from services.campaigns.service_layer.ports import (
    CampaignRepository,
    Messenger,
    NoticeStore,
    ReferralUnitOfWork,
    RewardLedger,
    RewardPools,
    ShareScreenshotStore,
)
from services.campaigns.service_layer.share_screenshots import AlreadySettled, settle_review
from services.screenshots import Decision, Reason

__all__ = [
    "NotInReview",
    "PictureNotKept",
    "Queue",
    "Reviewed",
    "SubmissionNotFound",
    "UnknownReason",
    "queue",
    "settle",
    "submission",
    "submission_picture",
]


class SubmissionNotFound(LookupError):
    def __init__(self, submission_id: str, campaign_id: str) -> None:
        super().__init__(f"no submission {submission_id!r} in campaign {campaign_id!r}")


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
) -> Queue:
    """Submissions, oldest first: by status (``review`` is the queue), reason and age."""
    if reason is not None and reason not in {r.value for r in Reason}:
        raise UnknownReason(reason)
    campaign = await load_campaign(campaigns, appid, campaign_id)
    before = None if older_than_minutes is None else now - timedelta(minutes=older_than_minutes)
    records = await screenshots.listing(
        campaign.id, status=status, reason=reason, received_before=before, limit=limit, offset=offset
    )
    return Queue(records, await screenshots.counts(campaign.id))


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


async def submission(
    campaigns: CampaignRepository, screenshots: ShareScreenshotStore, appid: str, campaign_id: str, submission_id: str
) -> Reviewed:
    campaign, record = await _record(campaigns, screenshots, appid, campaign_id, submission_id)
    has_picture = await screenshots.image(record.id) is not None
    return Reviewed(campaign, record, await screenshots.trail(record.id), has_picture)


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
    campaign_id: str,
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
) -> SubmissionRecord:
    """A reviewer's approval or rejection, and the member's reply (sent now if ``messenger`` is given;
    otherwise it stays queued for the worker's next delivery to this member)."""
    campaign, record = await _record(campaigns, screenshots, appid, campaign_id, submission_id)
    try:
        event_id = await settle_review(record, campaign, decision, reviewer=reviewer, note=note, uow=uow, now=now)
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

        await notices.deliver(queued, store=notice_store, codes=codes, rewards=rewards, messenger_for=reply_to, now=now)
    settled = await screenshots.get(record.id)
    assert settled is not None
    return settled
