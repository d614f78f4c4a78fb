"""Follows, unfollows and interactions on the profile: who follows now, since when, and when each member
last spoke to the account (which opens WeChat's 48-hour window for customer-service messages).

Applied in batches like mall events: one claim round trip, one read and one bulk write per batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from services.profiles.domain.profile import Change, Profile
from services.profiles.service_layer.ports import ProfilesUnitOfWork
from services.profiles.service_layer.unit_of_work import ProfileStep, apply_once
from shared.contracts import (
    ImageMessageReceived,
    MemberFollowed,
    MemberUnfollowed,
    MenuClicked,
    MenuLinkOpened,
    QrCodeScanned,
    TextMessageReceived,
)
from shared.events import Envelope, Message

__all__ = ["CONSUMER", "member_activity", "record_activity"]

CONSUMER = "profiles.activity"


def member_activity(message: Message) -> tuple[str, datetime] | None:
    """(openid, when) for a push that is the member's own doing; None for anything else."""
    match message:
        case MemberFollowed():
            return message.openid, message.followed_at
        case MemberUnfollowed():
            return message.openid, message.unfollowed_at
        case QrCodeScanned():
            return message.openid, message.scanned_at
        case MenuClicked():
            return message.openid, message.clicked_at
        case MenuLinkOpened():
            return message.openid, message.opened_at
        case TextMessageReceived() | ImageMessageReceived():
            return message.openid, message.received_at
    return None


async def record_activity(batch: Sequence[tuple[Envelope, Message]], uow: ProfilesUnitOfWork) -> int:
    """Apply the members' own pushes in ``batch`` (others are ignored) once each; return how many."""
    steps = []
    for envelope, message in batch:
        activity = member_activity(message)
        if activity is not None:
            openid, at = activity
            steps.append(ProfileStep(envelope.event_id, (envelope.appid, openid), _effect(message, at)))
    return await apply_once(uow, CONSUMER, steps)


def _effect(message: Message, at: datetime) -> Callable[[Profile], list[Change]]:
    if isinstance(message, MemberFollowed):
        via = f"scene:{message.scene}" if message.scene else "direct"
        return lambda profile: profile.followed(at, via)
    if isinstance(message, MemberUnfollowed):
        return lambda profile: profile.unfollowed(at)

    def touch(profile: Profile) -> list[Change]:
        profile.touch(at)
        return []  # touched, written, but no history entry

    return touch
