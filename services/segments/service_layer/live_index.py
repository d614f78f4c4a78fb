"""The live segment index: built from MongoDB at start, kept current by ``profile.changed`` events, the
campaigns' participants re-read now and then, and rebuilt daily so faded tag weights leave it.

Stages and ages need no rebuild: the index keeps the declared due dates and birthdays, and a rule is
turned into date ranges on the day it is evaluated (at preview and again at send time).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

import structlog

from services.segments.domain.membership import MembershipIndex
from services.segments.domain.rules import MemberFacts

__all__ = ["FactsSource", "LiveIndex", "Rebuilt"]

log = structlog.get_logger(__name__)

Member = tuple[str, str]


class FactsSource(Protocol):
    """Where member facts come from (MongoDB: profiles plus campaign participants)."""

    def everyone(self, today: date) -> AsyncIterator[list[MemberFacts]]:
        """Every member's facts, a batch at a time."""
        ...

    async def of(self, members: Sequence[Member], today: date) -> list[MemberFacts]:
        """The current facts of ``members``; members without a profile are left out."""
        ...

    async def participation_changed(self) -> list[Member]:
        """Members whose campaign participation changed since the last call (or the last load)."""
        ...

    async def written_since(self, since: datetime) -> list[Member]:
        """Members whose profiles were written at or after ``since``."""
        ...


@dataclass(frozen=True)
class Rebuilt:
    members: int
    seconds: float


class LiveIndex:
    """Holds the current :class:`MembershipIndex`; a rebuild swaps in a new one whole."""

    #: How far back a sweep looks before the previous one began: a transaction stamps its writes before
    #: it commits, so a write may become visible a little after its stamp.
    SWEEP_OVERLAP = timedelta(minutes=2)

    def __init__(self, source: FactsSource) -> None:
        self._source = source
        self.index = MembershipIndex()
        self.built_at: datetime | None = None
        self._swept_at: datetime | None = None
        #: Changes that arrived while a rebuild was reading: re-applied to the new index.
        self._during_rebuild: set[Member] | None = None

    async def rebuild(self, now: datetime) -> Rebuilt:
        started = time.perf_counter()
        fresh = MembershipIndex()
        self._during_rebuild = set()
        try:
            async for batch in self._source.everyone(now.date()):
                for facts in batch:
                    fresh.upsert(facts)
            missed = sorted(self._during_rebuild)
        finally:
            self._during_rebuild = None
        self.index = fresh
        self._swept_at = now
        if missed:
            await self.refresh(missed, now)
        self.built_at = now
        rebuilt = Rebuilt(len(fresh), time.perf_counter() - started)
        log.info("segment index built", members=rebuilt.members, seconds=round(rebuilt.seconds, 2))
        return rebuilt

    async def refresh(self, members: Sequence[Member], now: datetime) -> int:
        """Re-read ``members`` and put what they are now into the index; how many were found."""
        if self._during_rebuild is not None:
            self._during_rebuild.update(members)
        found = await self._source.of(members, now.date())
        for facts in found:
            self.index.upsert(facts)
        return len(found)

    async def sweep(self, now: datetime) -> int:
        """Re-read the profiles written since the last sweep (or build), in case an event was lost: the
        events keep the index fresh, the sweep makes sure nothing stays stale."""
        since = (self._swept_at or now) - self.SWEEP_OVERLAP
        members = await self._source.written_since(since)
        self._swept_at = now
        if members:
            await self.refresh(members, now)
        return len(members)

    async def refresh_campaigns(self, now: datetime) -> int:
        changed = await self._source.participation_changed()
        if changed:
            await self.refresh(changed, now)
        return len(changed)
