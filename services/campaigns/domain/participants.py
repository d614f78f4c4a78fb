"""Who takes part in a campaign, whom they invited, and the messages queued for them. Pure records.

Every record that must exist once has a deterministic key, so a redelivered event finds its effect
done: one participant per (campaign, member), one invitation per (campaign, invitee), one reward per
(campaign, member, tier) (:func:`reward_id`), one notice per id its handler derives from the event.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

__all__ = ["Invitation", "Notice", "Participant", "announcement", "day_start", "new_participant_code", "reward_id"]

_CODE_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


def new_participant_code() -> str:
    """The member's code in their referral QR code's scene: short, unguessable, no look-alikes."""
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))


@dataclass
class Participant:
    campaign_id: str
    appid: str
    openid: str
    code: str
    joined_at: datetime
    joined_via: str
    credited: int = 0
    revoked: int = 0
    tiers_granted: list[int] = field(default_factory=list)
    qr_ticket: str | None = None
    qr_url: str | None = None
    qr_expires_at: datetime | None = None
    poster_media_id: str | None = None
    poster_uploaded_at: datetime | None = None
    poster_sent_at: datetime | None = None
    #: Of ``credited``, the credits past the revocation window (or not waiting for one): what tiers
    #: are granted on. ``credited - confirmed`` are pending.
    confirmed: int = 0

    @property
    def pending(self) -> int:
        return self.credited - self.confirmed


@dataclass(frozen=True)
class Invitation:
    campaign_id: str
    inviter: str
    invitee: str
    status: str  # credited | revoked
    followed_at: datetime
    credited_at: datetime
    revoked_at: datetime | None = None
    #: When a pending credit is confirmed if the invitee still follows (None: confirmed at credit).
    confirms_at: datetime | None = None
    #: When it was confirmed: from then on it counts toward the inviter's tiers.
    confirmed_at: datetime | None = None
    #: The poster variant whose code the invitee followed through (None: credited before variants
    #: were kept on invitations): its ``confirmed:<variant>`` counter follows this credit's confirmation.
    variant: str | None = None


@dataclass(frozen=True)
class Notice:
    """A message queued for a member in the same transaction as the effect it reports.

    ``status``: ``pending`` until delivered (``sent``); ``held`` while the member's customer-service
    window is closed (sent at their next interaction); ``dropped`` when they no longer follow.
    """

    id: str
    campaign_id: str
    appid: str
    openid: str
    kind: str
    text: str
    created_at: datetime
    status: str = "pending"
    #: The event whose handling queued it: delivery right after handling finds it by this.
    event_id: str = ""
    #: Tier notices: the grant whose coupon code fills ``{code}`` at delivery.
    reward_id: str | None = None
    reward_pool: str | None = None


def announcement(campaign: HasIds, member: Participant, kind: str, text: str, at: datetime) -> Notice:
    """A campaign's message to one participant (``ended``: the campaign ended); one per member and
    kind, so announcing again queues nothing new."""
    event_id = f"{kind}:{campaign.id}"
    return Notice(
        id=f"{campaign.id}:{member.openid}:{kind}",
        campaign_id=campaign.id,
        appid=campaign.appid,
        openid=member.openid,
        kind=kind,
        text=text,
        created_at=at,
        event_id=event_id,
    )


class HasIds(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def appid(self) -> str: ...


def reward_id(campaign_id: str, inviter: str, tier: int) -> str:
    """The key of one grant: a member gets a tier's reward (tier 0: the share reward) once."""
    return f"{campaign_id}:{inviter}:{tier}"


def day_start(at: datetime, utc_offset: timedelta = timedelta(hours=8)) -> datetime:
    """Midnight of ``at``'s day in the campaign's timezone (Beijing by default), as an aware datetime."""
    local = at + utc_offset
    return local.replace(hour=0, minute=0, second=0, microsecond=0) - utc_offset
