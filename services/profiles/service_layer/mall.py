"""Applying mall events to profiles: once per event, in one transaction with the processed-event claims.

The worker applies them in batches (:func:`apply_mall_events`): one claim round trip, one read of the
members' profiles, one bulk write and one history insert per batch instead of per event, which is what
lets one worker keep up with a shop's traffic. :func:`apply_mall_event` handles one event the same way,
for the runner to isolate an event a failed batch could not get past.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta

from services.profiles.domain.mall import MallEvent, MallEventKind, UnknownCategory
from services.profiles.domain.profile import Change, Profile
from services.profiles.service_layer.ports import ProfilesUnitOfWork
from services.profiles.service_layer.unit_of_work import ProfileStep, apply_once
from shared.contracts import MallEventReceived
from shared.events import Envelope
from shared.maternal_infant import Taxonomy
from shared.messaging import PermanentHandlerError

__all__ = ["CONSUMER", "apply_mall_event", "apply_mall_events"]

CONSUMER = "profiles.mall"


async def apply_mall_event(
    envelope: Envelope,
    message: MallEventReceived,
    uow: ProfilesUnitOfWork,
    taxonomy: Taxonomy,
    half_life: timedelta,
    *,
    consent_required: bool = False,
) -> bool:
    """True if the event changed the profile now; False for a redelivery or an event applied before."""
    batch = [(envelope, message)]
    return await apply_mall_events(batch, uow, taxonomy, half_life, consent_required=consent_required) == 1


async def apply_mall_events(
    batch: Sequence[tuple[Envelope, MallEventReceived]],
    uow: ProfilesUnitOfWork,
    taxonomy: Taxonomy,
    half_life: timedelta,
    *,
    consent_required: bool = False,
) -> int:
    """Apply a batch in delivery order, in one transaction; return how many events changed a profile.

    Events already claimed (redeliveries) are skipped. An event whose category the taxonomy no longer
    maps fails the whole batch with :class:`PermanentHandlerError`, before anything is written.
    """

    def step(message: MallEventReceived) -> Callable[[Profile], list[Change] | None]:
        # unchanged: not saved
        return lambda profile: _apply(profile, message, taxonomy, half_life, consent_required) or None

    steps = [
        ProfileStep(envelope.event_id, (envelope.appid, message.openid), step(message)) for envelope, message in batch
    ]
    return await apply_once(uow, CONSUMER, steps)


def _apply(
    profile: Profile, message: MallEventReceived, taxonomy: Taxonomy, half_life: timedelta, consent_required: bool
) -> list[Change]:
    event = MallEvent(
        message.mall_event_id, MallEventKind(message.kind), message.category, message.occurred_at, message.amount_fen
    )
    try:
        changes = profile.apply_mall_event(event, taxonomy, half_life, consent_required=consent_required)
    except UnknownCategory as exc:
        # Accepted under a taxonomy that has since dropped the category: park it, with the reason.
        raise PermanentHandlerError(str(exc)) from None
    if changes and message.unionid and profile.unionid is None:
        profile.unionid = message.unionid
    return changes
