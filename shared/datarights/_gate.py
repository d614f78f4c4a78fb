"""Consumers drop an erased member's events, so an erasure is not undone by the next event about them.

:func:`gated` wraps a worker's subscriptions: before a handler sees a record (or a batch), the erasure
records of the members it names are read (one read per batch and account) and the events of erased
members are dropped, acknowledged without effect, unless the event is a follow newer than the erasure:
the member came back, and what follows that follow is theirs again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from shared.datarights._rights import Erasure, MemberRights
from shared.events import Envelope, Message
from shared.observability import get_logger

if TYPE_CHECKING:  # the worker runtime (faust) is not loaded by the APIs that export and erase
    from shared.messaging import Subscription

__all__ = ["FOLLOW", "gated", "member_of", "passing"]

R = TypeVar("R")
log = get_logger(__name__)

#: The event that lifts an erasure when it is newer.
FOLLOW = "member.followed"
#: Payload fields naming the member an event is about, in order of preference.
_MEMBER_FIELDS = ("openid", "invitee")

Pair = tuple[Envelope, Message]


def member_of(envelope: Envelope) -> str | None:
    """The member an event is about, if it names one."""
    for name in _MEMBER_FIELDS:
        value = envelope.payload.get(name)
        if isinstance(value, str) and value:
            return value
    return None


async def passing(rights: MemberRights, batch: Sequence[Pair]) -> list[Pair]:
    """The events of ``batch`` a consumer may handle (in order); the others are an erased member's."""
    wanted: dict[str, set[str]] = {}
    for envelope, _ in batch:
        member = member_of(envelope)
        if member is not None:
            wanted.setdefault(envelope.appid, set()).add(member)
    erased: dict[tuple[str, str], Erasure] = {}
    for appid, members in wanted.items():
        found = await rights.erasures(appid, members)
        erased.update({(appid, member): erasure for member, erasure in found.items()})
    if not erased:
        return list(batch)
    kept: list[Pair] = []
    for envelope, message in batch:
        member = member_of(envelope)
        erasure = erased.get((envelope.appid, member)) if member is not None else None
        if erasure is None:
            kept.append((envelope, message))
            continue
        follow = envelope.type == FOLLOW
        if erasure.suppresses(envelope.occurred_at, follow):
            log.info("event of an erased member dropped", event_id=envelope.event_id, type=envelope.type)
            continue
        if follow:
            await rights.refollowed(erasure.id, envelope.occurred_at)
            latest = max(erasure.refollowed_at or envelope.occurred_at, envelope.occurred_at)
            erased[(envelope.appid, member or "")] = replace(erasure, refollowed_at=latest)
        kept.append((envelope, message))
    return kept


def gated(
    subscriptions: Sequence[Subscription[R]], rights_of: Callable[[R], MemberRights | None]
) -> list[Subscription[R]]:
    """The subscriptions with erased members' events dropped before their handlers (``rights_of`` gives
    the erasure records from the worker's resources; None, as in memory-only tests, gates nothing)."""
    return [_gated(subscription, rights_of) for subscription in subscriptions]


def _gated(subscription: Subscription[R], rights_of: Callable[[R], MemberRights | None]) -> Subscription[R]:
    from shared.messaging import Batching

    handler = subscription.handler

    async def one(resources: R, envelope: Envelope, message: Message) -> None:
        rights = rights_of(resources)
        if rights is None or await passing(rights, [(envelope, message)]):
            await handler(resources, envelope, message)

    batch = subscription.batch
    if batch is None:
        return replace(subscription, handler=one)
    batch_handler: Callable[[R, Sequence[Pair]], Awaitable[Any]] = batch.handler

    async def many(resources: R, events: Sequence[Pair]) -> None:
        rights = rights_of(resources)
        kept = list(events) if rights is None else await passing(rights, events)
        if kept:
            await batch_handler(resources, kept)

    return replace(subscription, handler=one, batch=Batching(many, batch.max_records, batch.within))
