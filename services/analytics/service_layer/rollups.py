"""Folding a batch of events into the rollups, each event once, in one short transaction.

A batch is claimed (``claim_many``), the follower states it needs are read in one query, the fold runs
in memory, and then each touched rollup gets one ``$inc`` and each touched follower one write, all
committed with the claims. A redelivered event is no longer fresh and adds nothing; a batch that fails
wrote nothing.

Every batch touches the account's rollup of the day, so two transactions at once would conflict on it:
one folder runs one transaction at a time per process, and a conflict with another process (or a
partition's batch on another worker) is retried here a few times, quickly and with jitter, before it
goes to the runner, whose own wait for conflicts is seconds long.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from services.analytics.domain.rollups import Follower, Rollups, apply, counted, follower_of
from services.analytics.service_layer.ports import RollupsUnitOfWork
from shared.events import Envelope, Message
from shared.storage import is_transient

__all__ = ["CONSUMER", "Folded", "RollupFolder", "fold_batch"]

#: Scopes the processed-event claims of every analytics subscription (event ids differ across topics).
CONSUMER = "analytics"

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Folded:
    """What one batch did: events folded (fresh and counted), rollups and followers written."""

    events: int = 0
    rollups: int = 0
    followers: int = 0


async def fold_batch(uow: RollupsUnitOfWork, batch: Sequence[tuple[Envelope, Message]]) -> Folded:
    """Fold the counted events of ``batch`` not folded before, in delivery order, in one transaction."""
    wanted = [(envelope, message) for envelope, message in batch if counted(message)]
    if not wanted:
        return Folded()
    async with uow:
        fresh = await uow.claim_many(CONSUMER, list(dict.fromkeys(envelope.event_id for envelope, _ in wanted)))
        if not fresh:
            return Folded()
        todo = []
        for envelope, message in wanted:
            if envelope.event_id in fresh:
                fresh.discard(envelope.event_id)  # the same event twice in one batch counts once
                todo.append((envelope, message, follower_of(envelope.appid, message)))
        needed = list(dict.fromkeys(member for _, _, member in todo if member is not None))
        followers = await uow.followers.get_many(needed) if needed else {}
        increments = Rollups()
        changed: dict[tuple[str, str], Follower] = {}
        for envelope, message, member in todo:
            follower = None if member is None else followers.setdefault(member, Follower(*member))
            if apply(envelope.appid, message, follower, increments) and follower is not None:
                changed[(follower.appid, follower.openid)] = follower
        await uow.followers.save_many(list(changed.values()))
        await uow.rollups.add(increments)
        await uow.commit()
        return Folded(len(todo), len(increments), len(changed))


class RollupFolder:
    """The worker's use case: batches folded one transaction at a time, conflicts retried briefly."""

    def __init__(
        self,
        uow: Callable[[], RollupsUnitOfWork],
        *,
        attempts: int = 8,
        pause: float = 0.02,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._uow = uow
        self._attempts = attempts
        self._pause = pause
        self._sleep = sleep
        self._lock = asyncio.Lock()

    async def fold(self, batch: Sequence[tuple[Envelope, Message]]) -> Folded:
        async with self._lock:
            for attempt in range(1, self._attempts + 1):
                try:
                    return await fold_batch(self._uow(), batch)
                except Exception as exc:
                    if attempt == self._attempts or not is_transient(exc):
                        raise
                    # Jittered and growing, so two workers that collided do not collide again in step.
                    await self._sleep(self._pause * attempt * (1 + random.random()))  # noqa: S311
            raise AssertionError("unreachable: the last attempt returns or raises")
