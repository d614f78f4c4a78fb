from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Self

from shared.events import Envelope, Topic


class InMemoryUnitOfWork:
    """What :class:`MongoUnitOfWork` does, in memory: processed-event claims staged with the effects and
    applied together on :meth:`commit`, or dropped when the block is left without one.

    Reusable: each ``async with`` is one transaction over the same committed state. Services subclass
    it and stage their own writes in :meth:`_begin` (start staging), :meth:`_apply` (make the staged
    writes the committed state) and :meth:`_end` (drop what was not committed).
    """

    def __init__(self) -> None:
        #: "consumer:event_id" of every committed claim.
        self.processed: set[str] = set()
        self.commits = 0
        #: What committed transactions emitted, in order (the outbox, for tests to read).
        self.emitted: list[tuple[Topic, Envelope]] = []
        self._claims: set[str] = set()
        self._emitting: list[tuple[Topic, Envelope]] = []

    def _begin(self) -> None:
        """Hook: start staging writes."""

    def _apply(self) -> None:
        """Hook: the staged writes become the committed state."""

    def _end(self) -> None:
        """Hook: leave the transaction (what was not committed is gone)."""

    async def __aenter__(self) -> Self:
        self._claims = set()
        self._emitting = []
        self._begin()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._claims = set()
        self._emitting = []
        self._end()

    async def claim(self, consumer: str, event_id: str) -> bool:
        """Record that ``consumer`` processes ``event_id``; False if it already did."""
        return bool(await self.claim_many(consumer, [event_id]))

    async def claim_many(self, consumer: str, event_ids: Sequence[str]) -> set[str]:
        """The ``event_ids`` not processed yet by ``consumer``, now claimed."""
        fresh = set()
        for event_id in event_ids:
            key = f"{consumer}:{event_id}"
            if key not in self.processed and key not in self._claims:
                self._claims.add(key)
                fresh.add(event_id)
        return fresh

    async def emit(self, topic: Topic, envelope: Envelope) -> None:
        """Stage ``envelope`` for ``topic``: it joins :attr:`emitted` if the transaction commits."""
        self._emitting.append((topic, envelope))

    async def commit(self) -> None:
        self._apply()
        self.processed |= self._claims
        self._claims = set()
        emitted, self._emitting = self._emitting, []
        self.emitted.extend(emitted)
        await self._emitted(emitted)
        self.commits += 1

    async def _emitted(self, events: Sequence[tuple[Topic, Envelope]]) -> None:
        """Hook: what a commit emitted, e.g. to hand to an in-memory publisher."""
