"""The interest pick at follow: a signed link to the H5 page after a follow (held for the member's next
interaction when their window had closed), and the page's answers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import structlog

from services.profiles.domain.h5_links import seal_link
from services.profiles.domain.invitations import HeldInvitation
from services.profiles.domain.profile import Change, InterestPick
from services.profiles.domain.tags import TagSource
from services.profiles.service_layer.ports import HeldInvitations, Messenger, ProfilesUnitOfWork
from shared.contracts import MemberFollowed
from shared.events import Envelope
from shared.maternal_infant import Taxonomy
from shared.observability import member_ref
from shared.storage import retry_transient
from shared.wechat import WeChatError
from shared.wechat_client import (
    CustomerServiceCountExceeded,
    OutsideCustomerServiceWindow,
    RecipientUnavailable,
    Text,
    WeChatApiError,
)

__all__ = [
    "INVITE_CONSUMER",
    "TRIGGER_CONSUMER",
    "invite_after_follow",
    "invite_held",
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
    held: HeldInvitations,
    now: datetime,
) -> bool:
    """Send a new follower the link to the H5 page, once per follow.

    The message goes out inside the transaction that claims the event: if it fails, nothing is claimed
    and the redelivery tries again; a crash after sending but before the commit can repeat it once.
    A closed window (45015, 45047: the worker came too late after the follow) holds the invitation for
    the member's next interaction (:func:`invite_held`); one that went out replaces any held before.
    """
    appid, openid = envelope.appid, message.openid
    async with uow:
        if not await uow.claim(INVITE_CONSUMER, envelope.event_id):
            return False
        try:
            await messenger.send_custom_message(openid, Text(content=text))
        except (OutsideCustomerServiceWindow, CustomerServiceCountExceeded) as exc:
            await held.hold(HeldInvitation(appid, openid, now, _reason(exc)))
            log.info(
                "invitation held for the member's next interaction",
                appid=appid,
                member=member_ref(openid),
                event_id=envelope.event_id,
                reason=_reason(exc),
            )
        except RecipientUnavailable as exc:  # unfollowed again, or blocked us: nobody to invite
            log.info(
                "invitation not delivered",
                appid=appid,
                member=member_ref(openid),
                event_id=envelope.event_id,
                reason=_reason(exc),
            )
        else:
            await held.release(appid, openid)
        await uow.commit()
        return True


async def invite_held(
    appid: str,
    openids: Sequence[str],
    held: HeldInvitations,
    messenger: Messenger,
    text_for: Callable[[str], str],
    now: datetime,
) -> int:
    """Send the invitations held for ``openids``, members of ``appid`` who just interacted (their window
    is open again); how many went out. One lookup for all of them.

    Whatever the platform answers, the batch of pushes this runs for is not failed over it: a closed
    window keeps the invitation held, an unreachable platform too (the next interaction tries again),
    a member who cannot be reached any more (unfollowed, blocked) or a hold past
    :data:`~services.profiles.domain.invitations.HOLD_FOR` lets it go. Sending and releasing are two
    steps: a crash in between sends it once more at the next interaction, never loses it.
    """
    sent = 0
    for invitation in await held.held_among(appid, openids):
        member = member_ref(invitation.openid)
        if invitation.expired(now):
            await held.release(appid, invitation.openid)
            log.info("held invitation given up", appid=appid, member=member, held_at=invitation.held_at.isoformat())
            continue
        try:
            await messenger.send_custom_message(invitation.openid, Text(content=text_for(invitation.openid)))
        except (OutsideCustomerServiceWindow, CustomerServiceCountExceeded) as exc:
            await held.hold(invitation.again(_reason(exc)))
            log.info("invitation still held", appid=appid, member=member, reason=_reason(exc))
        except RecipientUnavailable as exc:
            await held.release(appid, invitation.openid)
            log.info("held invitation not delivered", appid=appid, member=member, reason=_reason(exc))
        except WeChatError as exc:
            log.warning("held invitation not sent; kept", appid=appid, member=member, reason=_reason(exc))
        else:
            await held.release(appid, invitation.openid)
            sent += 1
            log.info("held invitation sent", appid=appid, member=member, attempts=invitation.attempts + 1)
    return sent


def _reason(exc: WeChatError) -> str:
    if isinstance(exc, WeChatApiError):
        return f"{exc.errcode}: {exc.errmsg}"
    return str(exc) or type(exc).__name__


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
