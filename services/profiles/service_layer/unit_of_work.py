"""The ports the profiles service layer works through, and one way to apply events to profiles once.

:func:`apply_once` is the batch shape the worker's handlers share: claim the events, read their
members' profiles in one query, apply each event in delivery order, write what changed in one bulk
write with its history, commit — so a redelivered event, alone or inside a batch, changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

from services.profiles.domain.profile import Change, Profile

__all__ = ["ProfileStep", "ProfileStore", "ProfilesUnitOfWork", "apply_once"]


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
