"""Follows, unfollows and interactions on the profile: who follows now, since when, and when each member
last spoke to the account (which opens WeChat's 48-hour window for customer-service messages).

Applied in batches like mall events: one claim round trip, one read and one bulk write per batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from services.profiles.domain.profile import Change, Profile
from services.profiles.service_layer.mall import ProfilesUnitOfWork
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
    relevant = [
        (envelope, message, *activity)
        for envelope, message in batch
        if (activity := member_activity(message)) is not None
    ]
    if not relevant:
        return 0
    async with uow:
        fresh = await uow.claim_many(CONSUMER, [envelope.event_id for envelope, *_ in relevant])
        if not fresh:
            return 0
        members = list(dict.fromkeys((envelope.appid, openid) for envelope, _, openid, _ in relevant))
        profiles = await uow.profiles.get_many(members)
        touched: dict[tuple[str, str], list[Change]] = {}
        applied = 0
        for envelope, message, openid, at in relevant:
            if envelope.event_id not in fresh:
                continue
            fresh.discard(envelope.event_id)  # the same envelope twice in one batch counts once
            key = (envelope.appid, openid)
            profile = profiles.setdefault(key, Profile(*key))
            changes = touched.setdefault(key, [])
            if isinstance(message, MemberFollowed):
                changes += profile.followed(at, via=f"scene:{message.scene}" if message.scene else "direct")
            elif isinstance(message, MemberUnfollowed):
                changes += profile.unfollowed(at)
            else:
                profile.touch(at)
            applied += 1
        await uow.profiles.save_many([(profiles[key], changes) for key, changes in touched.items()])
        await uow.commit()
        return applied
