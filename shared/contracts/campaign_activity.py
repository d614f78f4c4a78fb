"""What happens to members in share-poster campaigns, as the campaigns service records it.

Each event is emitted through the campaigns service's outbox in the same transaction as the write it
reports, so an event is published if and only if its write committed (at least once; consumers
deduplicate by event id). The ids are derived from what the event is about, so a retried use case
emits the same id and a repeat is recognisably a repeat. Analytics folds them into the campaign
funnel; nothing else may rely on their order across members.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from shared.events import Event

OpenId = Annotated[str, Field(min_length=1, max_length=128)]
CampaignId = Annotated[str, Field(min_length=1, max_length=128, description="The campaign.")]
Tier = Annotated[int, Field(ge=1, description="The tier, 1 for the first (lowest) one.")]


class CampaignPosterSent(Event):
    """A participant was sent their personal poster (with their own parametric QR code)."""

    message_type = "campaign.poster_sent"
    message_version = 1

    openid: OpenId
    campaign_id: CampaignId
    sent_at: AwareDatetime


class CampaignPosterScanned(Event):
    """Someone followed or scanned a participant's poster code; ``new_follower`` when it made them follow."""

    message_type = "campaign.poster_scanned"
    message_version = 1

    openid: Annotated[str, Field(min_length=1, max_length=128, description="Who scanned.")]
    campaign_id: CampaignId
    inviter_openid: Annotated[str, Field(min_length=1, max_length=128, description="Whose poster it was.")]
    new_follower: Annotated[bool, Field(description="The scan was a first follow of the account.")]
    scanned_at: AwareDatetime


class CampaignInviteCredited(Event):
    """A friend who followed through a participant's poster was credited to them."""

    message_type = "campaign.invite_credited"
    message_version = 1

    openid: Annotated[str, Field(min_length=1, max_length=128, description="The inviter, credited.")]
    campaign_id: CampaignId
    invitee_openid: OpenId
    credited_at: AwareDatetime


class CampaignCreditRevoked(Event):
    """A credited invitee unfollowed within the revocation window, so the credit was taken back."""

    message_type = "campaign.credit_revoked"
    message_version = 1

    openid: Annotated[str, Field(min_length=1, max_length=128, description="The inviter.")]
    campaign_id: CampaignId
    invitee_openid: OpenId
    revoked_at: AwareDatetime


class CampaignTierReached(Event):
    """A participant's credited invites reached a tier for the first time."""

    message_type = "campaign.tier_reached"
    message_version = 1

    openid: OpenId
    campaign_id: CampaignId
    tier: Tier
    reached_at: AwareDatetime


class CampaignRewardGranted(Event):
    """A tier's reward was granted to a participant (once per participant and tier)."""

    message_type = "campaign.reward_granted"
    message_version = 1

    openid: OpenId
    campaign_id: CampaignId
    tier: Tier
    basis: Annotated[
        Literal["invites", "screenshot"],
        Field(description="What earned it: credited invites, or an approved share screenshot."),
    ]
    granted_at: AwareDatetime


class CampaignScreenshotDecided(Event):
    """A share screenshot was decided: approved, rejected, or queued for a human reviewer.

    An automatic ``queued`` decision is followed by the reviewer's ``approved`` or ``rejected`` one
    for the same submission; ``submitted_at`` lets readers measure how long the review took.
    """

    message_type = "campaign.screenshot_decided"
    message_version = 1

    openid: OpenId
    campaign_id: CampaignId
    submission_id: Annotated[str, Field(min_length=1, max_length=64)]
    outcome: Literal["approved", "rejected", "queued"]
    reasons: Annotated[list[str], Field(max_length=32, description="The verdict's reason codes.")]
    decided_by: Literal["auto", "reviewer"]
    submitted_at: AwareDatetime
    decided_at: AwareDatetime


def poster_sent_event_id(campaign_id: str, openid: str) -> str:
    return f"poster_sent:{campaign_id}:{openid}"


def poster_scanned_event_id(source_event_id: str) -> str:
    """Derived from the webhook push that carried the scan, so a redelivered push repeats the id."""
    return f"poster_scanned:{source_event_id}"


def invite_credited_event_id(campaign_id: str, invitee_openid: str) -> str:
    return f"invite_credited:{campaign_id}:{invitee_openid}"


def credit_revoked_event_id(campaign_id: str, invitee_openid: str) -> str:
    return f"credit_revoked:{campaign_id}:{invitee_openid}"


def tier_reached_event_id(campaign_id: str, openid: str, tier: int) -> str:
    return f"tier_reached:{campaign_id}:{openid}:{tier}"


def reward_granted_event_id(campaign_id: str, openid: str, tier: int) -> str:
    return f"reward_granted:{campaign_id}:{openid}:{tier}"


def screenshot_decided_event_id(submission_id: str, outcome: str, decided_by: str) -> str:
    return f"screenshot_decided:{submission_id}:{outcome}:{decided_by}"
