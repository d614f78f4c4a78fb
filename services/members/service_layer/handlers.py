"""What the members service does with each event. Handlers see only the unit-of-work port."""

from __future__ import annotations

from collections.abc import Callable

from services.members.domain.model import Member
from services.members.service_layer.ports import UnitOfWork
from shared.contracts import MemberFollowed, MemberUnfollowed
from shared.events import Envelope
from shared.observability import get_logger

CONSUMER = "members"
log = get_logger(__name__)


async def record_follow(envelope: Envelope, event: MemberFollowed, uow: UnitOfWork) -> bool:
    """Apply a follow once. Returns False when the event was already processed (a redelivery)."""
    return await _change_member(
        envelope, event.openid, uow, lambda member: member.follow(event.followed_at, event.scene)
    )


async def record_unfollow(envelope: Envelope, event: MemberUnfollowed, uow: UnitOfWork) -> bool:
    return await _change_member(envelope, event.openid, uow, lambda member: member.unfollow(event.unfollowed_at))


async def _change_member(envelope: Envelope, openid: str, uow: UnitOfWork, change: Callable[[Member], None]) -> bool:
    async with uow:
        if not await uow.claim(CONSUMER, envelope.event_id):
            log.info("duplicate skipped", event_id=envelope.event_id, type=envelope.type)
            return False
        member = await uow.members.get(envelope.appid, openid) or Member(envelope.appid, openid)
        change(member)
        await uow.members.save(member)
        await uow.commit()
    return True
