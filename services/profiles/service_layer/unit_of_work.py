"""One way to apply events to profiles once, through the :class:`ProfilesUnitOfWork` port.

:func:`apply_once` is the batch shape the worker's handlers share: claim the events, read their
members' profiles in one query, apply each event in delivery order, write what changed in one bulk
write with its history, commit — so a redelivered event, alone or inside a batch, changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from services.profiles.domain.profile import Change, Profile
from services.profiles.service_layer.ports import ProfilesUnitOfWork

__all__ = ["ProfileStep", "apply_once"]


@dataclass(frozen=True)
class ProfileStep:
    """One event's effect on one member's profile. ``apply`` returns the history entries, or None when
    it left the profile untouched (nothing to write for it)."""

    event_id: str
    member: tuple[str, str]
    apply: Callable[[Profile], list[Change] | None]


async def apply_once(uow: ProfilesUnitOfWork, consumer: str, steps: Sequence[ProfileStep]) -> int:
    """Apply ``steps`` in order, each event once for ``consumer``, in one transaction; return how many
    touched a profile."""
    if not steps:
        return 0
    async with uow:
        fresh = await uow.claim_many(consumer, [step.event_id for step in steps])
        if not fresh:
            return 0
        profiles = await uow.profiles.get_many(list(dict.fromkeys(step.member for step in steps)))
        touched: dict[tuple[str, str], list[Change]] = {}
        applied = 0
        for step in steps:
            if step.event_id not in fresh:
                continue
            fresh.discard(step.event_id)  # the same event twice in one batch counts once
            changes = step.apply(profiles.setdefault(step.member, Profile(*step.member)))
            if changes is not None:
                touched.setdefault(step.member, []).extend(changes)
                applied += 1
        await uow.profiles.save_many([(profiles[member], changes) for member, changes in touched.items()])
        await uow.commit()
        return applied
