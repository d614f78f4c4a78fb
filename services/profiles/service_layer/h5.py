"""The interest pick at follow: a signed link to the H5 page after a follow, and the page's answers."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog

from services.profiles.domain.h5_links import seal_link
from services.profiles.domain.profile import Change, InterestPick
from services.profiles.domain.tags import TagSource
from services.profiles.service_layer.ports import Messenger, ProfilesUnitOfWork
from shared.contracts import MemberFollowed
from shared.events import Envelope
from shared.maternal_infant import Taxonomy
from shared.storage import retry_transient
from shared.wechat_client import RecipientUnavailable, Text

__all__ = [
    "INVITE_CONSUMER",
    "TRIGGER_CONSUMER",
    "invite_after_follow",
    "member_link",
    "submit_pick",
    "tag_from_trigger",
]

log = structlog.get_logger("profiles.h5")

INVITE_CONSUMER = "profiles.invite"
TRIGGER_CONSUMER = "profiles.triggers"


def member_link(
    base_url: str, secret: bytes, appid: str, openid: str, now: datetime, valid: timedelta, page: str = "interests"
) -> str:
    """A signed link to one of the member's H5 pages (``interests``, ``surveys/<id>``)."""
    token = seal_link(secret, appid, openid, int((now + valid).timestamp()), page)
    return f"{base_url.rstrip('/')}/h5/{appid}/{page}?t={token}"


async def invite_after_follow(
    envelope: Envelope,
    message: MemberFollowed,
    uow: ProfilesUnitOfWork,
    messenger: Messenger,
    text: str,
) -> bool:
    """Send a new follower the link to the H5 page, once per follow.

    The message goes out inside the transaction that claims the event: if it fails, nothing is claimed
    and the redelivery tries again; a crash after sending but before the commit can repeat it once.
    """
    async with uow:
        if not await uow.claim(INVITE_CONSUMER, envelope.event_id):
            return False
        try:
            await messenger.send_custom_message(message.openid, Text(content=text))
        except RecipientUnavailable as exc:  # unfollowed again, or blocked us: nobody to invite
            log.info("invitation not delivered", reason=str(exc))
        await uow.commit()
        return True


async def submit_pick(
    uow: ProfilesUnitOfWork, taxonomy: Taxonomy, appid: str, openid: str, pick: InterestPick, now: datetime
) -> list[Change]:
    """Record the page's answers (raises ProfileError naming the field for impossible ones); a write
    conflict (the account's coverage counters are shared by every write) is tried again."""

    async def attempt() -> list[Change]:
        async with uow:
            profile = await uow.profiles.get_or_new(appid, openid)
            changes = profile.apply_interest_pick(pick, taxonomy, now, via="h5_form")
            if changes:
                await uow.profiles.save(profile, changes)
            await uow.commit()
            return changes

    return await retry_transient(attempt)


async def tag_from_trigger(
    envelope: Envelope, openid: str, codes: tuple[str, ...], via: str, uow: ProfilesUnitOfWork, taxonomy: Taxonomy
) -> list[Change]:
    """Tags a keyword reply or menu click declares (the taxonomy's ``keywords`` / ``menu_keys``), once."""
    async with uow:
        if not await uow.claim(TRIGGER_CONSUMER, envelope.event_id):
            return []
        profile = await uow.profiles.get_or_new(envelope.appid, openid)
        changes: list[Change] = []
        for code in codes:
            changes += profile.add_tag(taxonomy, code, TagSource.DECLARED, envelope.occurred_at, actor=via)
        if changes:
            await uow.profiles.save(profile, changes)
        await uow.commit()
        return changes
