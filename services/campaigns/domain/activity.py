"""What the campaigns service tells others about members' activity (``campaigns.activity``), as envelopes.

Pure: the use cases emit these through their unit of work, in the transaction of the write each one
reports. Every envelope is keyed by the member the event is about (its ``openid``) and carries an id
derived from what it reports (the helpers in :mod:`shared.contracts`), so a retried use case emits the
same id and readers recognise the repeat.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from services.campaigns.domain.referrals import Tier
from shared.contracts import (
    CampaignCreditRevoked,
    CampaignInviteCredited,
    CampaignPosterScanned,
    CampaignPosterSent,
    CampaignRewardGranted,
    CampaignScreenshotDecided,
    CampaignTierReached,
    credit_revoked_event_id,
    invite_credited_event_id,
    poster_scanned_event_id,
    poster_sent_event_id,
    reward_granted_event_id,
    screenshot_decided_event_id,
    tier_reached_event_id,
)
from shared.events import Envelope, Message

__all__ = [
    "SHARE_REWARD_EVENT_TIER",
    "credit_revoked",
    "invite_credited",
    "poster_scanned",
    "poster_sent",
    "reward_granted",
    "screenshot_decided",
    "share_reward_granted",
    "tier_number",
    "tier_reached",
]

#: The share reward's tier in ``campaign.reward_granted``: a member has one share reward per campaign.
SHARE_REWARD_EVENT_TIER = 1
#: ...and the tier its event id is derived from. Not 1: invite tier 1 of the same member and campaign
#: has that id, and two rewards under one id would count as one. 0 is how the grant is stored too.
_SHARE_REWARD_ID_TIER = 0

Outcome = Literal["approved", "rejected", "queued"]


def _wrap(event: Message, appid: str, openid: str, at: datetime, event_id: str) -> Envelope:
    return Envelope.wrap(event, appid=appid, key=openid, occurred_at=at, event_id=event_id)


def tier_number(tiers: Sequence[Tier], invites: int) -> int:
    """The tier's place among the campaign's tiers, 1 for the lowest (tiers ascend by invite count)."""
    return next(n for n, tier in enumerate(tiers, start=1) if tier.invites == invites)


def poster_sent(appid: str, campaign_id: str, openid: str, at: datetime) -> Envelope:
    event = CampaignPosterSent(openid=openid, campaign_id=campaign_id, sent_at=at)
    return _wrap(event, appid, openid, at, poster_sent_event_id(campaign_id, openid))


def poster_scanned(
    appid: str,
    campaign_id: str,
    *,
    openid: str,
    inviter: str,
    new_follower: bool,
    at: datetime,
    source_event_id: str,
) -> Envelope:
    """A follow or scan through ``inviter``'s poster code; the id follows the push that carried it."""
    event = CampaignPosterScanned(
        openid=openid, campaign_id=campaign_id, inviter_openid=inviter, new_follower=new_follower, scanned_at=at
    )
    return _wrap(event, appid, openid, at, poster_scanned_event_id(source_event_id))


def invite_credited(appid: str, campaign_id: str, *, inviter: str, invitee: str, at: datetime) -> Envelope:
    event = CampaignInviteCredited(openid=inviter, campaign_id=campaign_id, invitee_openid=invitee, credited_at=at)
    return _wrap(event, appid, inviter, at, invite_credited_event_id(campaign_id, invitee))


def credit_revoked(appid: str, campaign_id: str, *, inviter: str, invitee: str, at: datetime) -> Envelope:
    event = CampaignCreditRevoked(openid=inviter, campaign_id=campaign_id, invitee_openid=invitee, revoked_at=at)
    return _wrap(event, appid, inviter, at, credit_revoked_event_id(campaign_id, invitee))


def tier_reached(appid: str, campaign_id: str, openid: str, tier: int, at: datetime) -> Envelope:
    event = CampaignTierReached(openid=openid, campaign_id=campaign_id, tier=tier, reached_at=at)
    return _wrap(event, appid, openid, at, tier_reached_event_id(campaign_id, openid, tier))


def reward_granted(appid: str, campaign_id: str, openid: str, tier: int, at: datetime) -> Envelope:
    """An invite tier's reward (``tier`` as :func:`tier_number` counts it)."""
    event = CampaignRewardGranted(openid=openid, campaign_id=campaign_id, tier=tier, basis="invites", granted_at=at)
    return _wrap(event, appid, openid, at, reward_granted_event_id(campaign_id, openid, tier))


def share_reward_granted(appid: str, campaign_id: str, openid: str, at: datetime) -> Envelope:
    """The share reward an approved screenshot earned (one per member and campaign)."""
    event = CampaignRewardGranted(
        openid=openid, campaign_id=campaign_id, tier=SHARE_REWARD_EVENT_TIER, basis="screenshot", granted_at=at
    )
    return _wrap(event, appid, openid, at, reward_granted_event_id(campaign_id, openid, _SHARE_REWARD_ID_TIER))


def screenshot_decided(
    appid: str,
    campaign_id: str,
    openid: str,
    *,
    submission_id: str,
    outcome: Outcome,
    reasons: Sequence[str],
    decided_by: Literal["auto", "reviewer"],
    submitted_at: datetime,
    decided_at: datetime,
) -> Envelope:
    event = CampaignScreenshotDecided(
        openid=openid,
        campaign_id=campaign_id,
        submission_id=submission_id,
        outcome=outcome,
        reasons=list(reasons),
        decided_by=decided_by,
        submitted_at=submitted_at,
        decided_at=decided_at,
    )
    event_id = screenshot_decided_event_id(submission_id, outcome, decided_by)
    return _wrap(event, appid, openid, decided_at, event_id)
