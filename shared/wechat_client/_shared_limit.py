"""One account's rate limit shared by every process that calls the platform for it, through MongoDB.

The platform's limits are per account; :class:`~shared.wechat_client._ratelimit.RateLimiter` keeps
them per process, so N dispatchers would send N times the pace. :class:`SharedRateLimiter` keeps, for
each shared ``(appid, api)``, one document holding ``next_free``: the wall-clock time from which the
account's calls are not yet handed out (the "virtual scheduling" form of a token bucket). A process
leases a run of slots in one round trip: from ``max(next_free, now - (burst - 1) / rate)``, ``n``
calls spaced ``1 / rate`` apart, moving ``next_free`` past them in one atomic update on the server
(an update pipeline: no read first, no conflict to retry). Leases never overlap, so over any window
of ``T`` seconds the account's calls start at most ``burst + rate * T`` times, plus what a late
caller adds: a slot is used no later than ``lateness`` after its time, or given up.

A lease grows (doubling up to ``lease_seconds`` of the account's pace) while all its slots are taken
and shrinks to what was taken when some were given up, so an idle process holds next to nothing and a
busy one goes to MongoDB about every ``lease_seconds``. The processes' clocks must agree (NTP) to
well within ``lateness``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.wechat_client._clock import Clock
from shared.wechat_client._config import WeChatApiConfig
from shared.wechat_client._ratelimit import RateLimiter

__all__ = ["RATE_BUDGETS", "SharedRateLimiter"]

#: One document per shared (appid, api): ``next_free`` (epoch seconds).
RATE_BUDGETS = "wechat_rate_budgets"
#: Tries of a lease: a first lease meeting another process's, MongoDB away for a few seconds.
_ATTEMPTS = 8


@dataclass
class _Lease:
    start: float
    count: int
    interval: float
    #: When the lease came back: slots due before it (the burst allowance) are due from then.
    issued: float
    used: int = 0
    #: Slots nobody took in time, given up.
    lost: int = 0

    def take(self, now: float, lateness: float) -> float | None:
        """The time of this caller's slot, or None when the lease has none left (late slots are given up)."""
        while self.used < self.count:
            at = self.start + self.used * self.interval
            self.used += 1
            if max(at, self.issued) >= now - lateness:
                return at
            self.lost += 1
        return None

    def next_size(self, most: int) -> int:
        """How many slots to lease next: twice as many while every slot is taken, else what was."""
        return min(most, self.count * 2) if not self.lost else max(1, self.count - self.lost)


class _Key:
    def __init__(self) -> None:
        self.lease: _Lease | None = None
        self.fetching: asyncio.Task[_Lease] | None = None
        self.waiting = 0


class SharedRateLimiter(RateLimiter):
    """:class:`RateLimiter` whose buckets for ``apis`` are held in MongoDB for every process; other APIs
    stay per process. The limits are the config's (:meth:`WeChatApiConfig.rate_limit`), per account."""

    def __init__(
        self,
        database: AsyncDatabase[Any],
        config: WeChatApiConfig | None = None,
        *,
        apis: Collection[str],
        lease_seconds: float = 0.05,
        lateness: float = 0.05,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(config, clock=clock)
        self._budgets = database[RATE_BUDGETS]
        self._apis = frozenset(apis)
        self._lease_seconds = lease_seconds
        self._lateness = lateness
        self._keys: dict[tuple[str, str], _Key] = {}
        #: Round trips to MongoDB, and first leases that met another process's (for benchmarks).
        self.round_trips = 0
        self.conflicts = 0

    async def acquire(self, appid: str, api: str) -> None:
        if api not in self._apis:
            await super().acquire(appid, api)
            return
        key = self._keys.get((appid, api))
        if key is None:
            key = self._keys[(appid, api)] = _Key()
        while True:
            now = self._clock.now().timestamp()
            at = None if key.lease is None else key.lease.take(now, self._lateness)
            if at is not None:
                if at > now:
                    await self._clock.sleep(at - now)
                return
            key.waiting += 1
            current = False
            try:
                if key.fetching is None:
                    key.fetching = asyncio.create_task(self._lease(appid, api, key))
                fetching = key.fetching
                lease = await asyncio.shield(fetching)
            finally:
                key.waiting -= 1
                # The first caller back installs the lease; a failed fetch is not kept for the next one.
                if key.fetching is fetching and fetching.done():
                    key.fetching, current = None, True
            if current:
                key.lease = lease

    async def _lease(self, appid: str, api: str, key: _Key) -> _Lease:
        limit = self._config.rate_limit(api)
        interval = 1.0 / limit.rate
        most = max(1, int(limit.rate * self._lease_seconds))
        grown = 1 if key.lease is None else key.lease.next_size(most)
        count = min(most, max(grown, key.waiting))
        earliest = self._clock.now().timestamp() - (limit.burst - 1) * interval
        # One atomic step on the server: the lease starts where the account's calls are not yet handed
        # out (or at the burst allowance), and ``next_free`` moves past it.
        step = [{"$set": {"next_free": {"$add": [{"$max": ["$next_free", earliest]}, count * interval]}}}]
        for attempt in range(_ATTEMPTS):
            self.round_trips += 1
            try:
                doc = await self._budgets.find_one_and_update(
                    {"_id": f"{appid}:{api}"}, step, upsert=True, return_document=ReturnDocument.AFTER
                )
            except DuplicateKeyError:  # two first leases at once: the other one created it
                self.conflicts += 1
                continue
            except PyMongoError:  # no lease, no call: wait for MongoDB rather than exceed the pace
                if attempt == _ATTEMPTS - 1:
                    raise
                await self._clock.sleep(min(2.0, 0.1 * 2**attempt))
                continue
            if doc is None:  # a first lease racing another (seen on the local stand-in): again
                self.conflicts += 1
                continue
            until = float(doc["next_free"])
            return _Lease(until - count * interval, count, interval, self._clock.now().timestamp())
        raise RuntimeError(f"no lease of {api} for {appid}")
