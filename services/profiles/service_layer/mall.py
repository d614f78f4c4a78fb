"""Applying mall events to profiles: once per event, in one transaction with the processed-event claim."""

from __future__ import annotations

from datetime import timedelta
from types import TracebackType
from typing import Protocol

from services.profiles.adapters.repository import MongoProfileRepository
from services.profiles.domain.mall import MallEvent, MallEventKind, UnknownCategory
from services.profiles.domain.taxonomy import Taxonomy
from shared.contracts import MallEventReceived
from shared.events import Envelope
from shared.messaging import PermanentHandlerError

__all__ = ["CONSUMER", "ProfilesUnitOfWork", "apply_mall_event"]

CONSUMER = "profiles.mall"


class ProfilesUnitOfWork(Protocol):
    profiles: MongoProfileRepository

    async def __aenter__(self) -> ProfilesUnitOfWork: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def claim(self, consumer: str, event_id: str) -> bool: ...

    async def commit(self) -> None: ...


async def apply_mall_event(
    envelope: Envelope,
    message: MallEventReceived,
    uow: ProfilesUnitOfWork,
    taxonomy: Taxonomy,
    half_life: timedelta,
) -> bool:
    """True if the event changed the profile now; False for a redelivery or an event applied before."""
    event = MallEvent(
        message.mall_event_id, MallEventKind(message.kind), message.category, message.occurred_at, message.amount_fen
    )
    async with uow:
        if not await uow.claim(CONSUMER, envelope.event_id):
            return False
        profile = await uow.profiles.get_or_new(envelope.appid, message.openid)
        if message.unionid and profile.unionid is None:
            profile.unionid = message.unionid
        try:
            changes = profile.apply_mall_event(event, taxonomy, half_life)
        except UnknownCategory as exc:
            # Accepted under a taxonomy that has since dropped the category: park it, with the reason.
            raise PermanentHandlerError(str(exc)) from None
        if changes:
            await uow.profiles.save(profile, changes)
        await uow.commit()
        return bool(changes)
