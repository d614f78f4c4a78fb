"""Applying mall events to profiles: once per event, in one transaction with the processed-event claims.

The worker applies them in batches (:func:`apply_mall_events`): one claim round trip, one read of the
members' profiles, one bulk write and one history insert per batch instead of per event, which is what
lets one worker keep up with a shop's traffic. :func:`apply_mall_event` handles one event the same way,
for the runner to isolate an event a failed batch could not get past.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from types import TracebackType
from typing import Protocol

from services.profiles.domain.mall import MallEvent, MallEventKind, UnknownCategory
from services.profiles.domain.profile import Change, Profile
from services.profiles.domain.taxonomy import Taxonomy
from shared.contracts import MallEventReceived
from shared.events import Envelope
from shared.messaging import PermanentHandlerError

__all__ = ["CONSUMER", "ProfileStore", "ProfilesUnitOfWork", "apply_mall_event", "apply_mall_events"]

CONSUMER = "profiles.mall"


class ProfileStore(Protocol):
    """The profile repository as the service layer uses it (MongoDB's, or the benchmark's in memory)."""

    async def get_or_new(self, appid: str, openid: str) -> Profile: ...

    async def save(self, profile: Profile, changes: list[Change]) -> None: ...

    async def get_many(self, members: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Profile]: ...

    async def save_many(self, updates: Sequence[tuple[Profile, list[Change]]]) -> None: ...


class ProfilesUnitOfWork(Protocol):
    @property
    def profiles(self) -> ProfileStore: ...

    async def __aenter__(self) -> ProfilesUnitOfWork: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def claim(self, consumer: str, event_id: str) -> bool: ...

    async def claim_many(self, consumer: str, event_ids: Sequence[str]) -> set[str]: ...

    async def commit(self) -> None: ...


async def apply_mall_event(
    envelope: Envelope,
    message: MallEventReceived,
    uow: ProfilesUnitOfWork,
    taxonomy: Taxonomy,
    half_life: timedelta,
) -> bool:
    """True if the event changed the profile now; False for a redelivery or an event applied before."""
    return await apply_mall_events([(envelope, message)], uow, taxonomy, half_life) == 1


async def apply_mall_events(
    batch: Sequence[tuple[Envelope, MallEventReceived]],
    uow: ProfilesUnitOfWork,
    taxonomy: Taxonomy,
    half_life: timedelta,
) -> int:
    """Apply a batch in delivery order, in one transaction; return how many events changed a profile.

    Events already claimed (redeliveries) are skipped. An event whose category the taxonomy no longer
    maps fails the whole batch with :class:`PermanentHandlerError`, before anything is written.
    """
    async with uow:
        fresh = await uow.claim_many(CONSUMER, [envelope.event_id for envelope, _ in batch])
        if not fresh:
            return 0
        members = list(dict.fromkeys((envelope.appid, message.openid) for envelope, message in batch))
        profiles = await uow.profiles.get_many(members)
        changed: dict[tuple[str, str], list[Change]] = {}
        applied = 0
        for envelope, message in batch:
            if envelope.event_id not in fresh:
                continue
            fresh.discard(envelope.event_id)  # the same envelope twice in one batch counts once
            key = (envelope.appid, message.openid)
            profile = profiles.setdefault(key, Profile(*key))
            changes = _apply(profile, message, taxonomy, half_life)
            if changes:
                changed.setdefault(key, []).extend(changes)
                applied += 1
        await uow.profiles.save_many([(profiles[key], changes) for key, changes in changed.items()])
        await uow.commit()
        return applied


def _apply(profile: Profile, message: MallEventReceived, taxonomy: Taxonomy, half_life: timedelta) -> list[Change]:
    event = MallEvent(
        message.mall_event_id, MallEventKind(message.kind), message.category, message.occurred_at, message.amount_fen
    )
    try:
        changes = profile.apply_mall_event(event, taxonomy, half_life)
    except UnknownCategory as exc:
        # Accepted under a taxonomy that has since dropped the category: park it, with the reason.
        raise PermanentHandlerError(str(exc)) from None
    if changes and message.unionid and profile.unionid is None:
        profile.unionid = message.unionid
    return changes
