"""A small read-through cache for what the gateway reads from MongoDB on the push path.

Every push needs its account's keys and reply rules. Cached with a plain expiry, the moment an entry
expires every push in flight misses at once and queries MongoDB on its own: at a few thousand pushes a
second that is a burst of dozens of queries (and of new pooled connections), and every one of those
pushes waits for it (measured: the gateway's p99 at half load). Here one load runs per key at a time;
pushes that find no entry wait for that load, and pushes that find an expired one get it at once while
the load refreshes it in the background (unless ``stale_ok`` says that value must not outlive its time:
an unknown account, say, which may have been added since).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from shared.observability import get_logger

log = get_logger(__name__)

V = TypeVar("V")


class RefreshingCache(Generic[V]):
    """Values by key from ``load``, each kept for ``ttl(value)`` seconds, at most ``max_entries``
    (least recently used forgotten first)."""

    def __init__(
        self,
        load: Callable[[str], Awaitable[V]],
        *,
        ttl: Callable[[V], float],
        name: str,
        stale_ok: Callable[[V], bool] = lambda _: True,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._ttl = ttl
        self._name = name
        self._stale_ok = stale_ok
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, V]] = OrderedDict()
        self._loading: dict[str, asyncio.Future[V]] = {}

    async def get(self, key: str) -> V:
        entry = self._entries.get(key)
        if entry is not None:
            if entry[0] > self._clock():
                self._entries.move_to_end(key)
                return entry[1]
            if self._stale_ok(entry[1]):
                self._entries.move_to_end(key)
                if key not in self._loading:
                    self._start_load(key, background=True)
                return entry[1]
        loading = self._loading.get(key)
        if loading is None:
            loading = self._start_load(key, background=False)
        # shield: one caller giving up (its request cancelled) must not cancel the load the others share
        return await asyncio.shield(loading)

    def _start_load(self, key: str, *, background: bool) -> asyncio.Future[V]:
        task = asyncio.ensure_future(self._load_into(key))
        self._loading[key] = task
        if background:
            task.add_done_callback(self._log_failure)
        else:
            task.add_done_callback(_retrieve)
        task.add_done_callback(lambda _: self._loading.pop(key, None) if self._loading.get(key) is task else None)
        return task

    async def _load_into(self, key: str) -> V:
        value = await self._load(key)
        self._entries[key] = (self._clock() + self._ttl(value), value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return value

    def _log_failure(self, task: asyncio.Future[V]) -> None:
        # A background refresh that failed leaves the expired entry in use; the next push tries again.
        error = None if task.cancelled() else task.exception()
        if error is not None:
            log.warning("cache refresh failed; the cached copy stays in use", cache=self._name, error=repr(error))


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Marks a failed load's exception as seen: its waiters raise it, even when all of them gave up."""
    if not task.cancelled():
        task.exception()
