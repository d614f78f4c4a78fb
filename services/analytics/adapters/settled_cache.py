"""Keeps the rollups of settled days in memory, in front of another reader.

Every counter is counted on the day of its event's own time, so a day's counters change only while its
events can still arrive: a day or two when the worker lags. One kind is counted on an earlier day: an
invitee who unfollows is counted as lost on the day of their credit, up to 30 days later, in the
campaign's scope. So a day is settled after ``settle_days`` (3), and a campaign's after
``campaign_settle_days`` (35) unless the read leaves those counters out; a range of a year is mostly
settled days. For each scope (or prefix)
this keeps the settled days it has read, for ``ttl_seconds``, and reads from storage only the days on
either side of what it keeps and the days not settled yet. Should a settled day change after all (a
worker days behind, a replay of old events), the dashboards show it within ``ttl_seconds``.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.analytics.domain.dashboards import Rollup, beijing_today
from services.analytics.service_layer.ports import RollupReader

__all__ = ["SettledDaysCache"]

#: Days after which a day's counters no longer change: today, yesterday, and a day for a lagging worker.
SETTLE_DAYS = 3
#: The same for a campaign's scope: its invitees lost within 30 days are counted on their credit day.
CAMPAIGN_SETTLE_DAYS = 35
_SLOW_SCOPES = "campaign:"
_BACKDATED = "invitees_lost_"


@dataclass
class _Entry:
    first: str
    last: str
    rollups: list[Rollup]
    expires: float


Key = tuple[str, str, str, tuple[str, ...] | None]


class SettledDaysCache:
    def __init__(
        self,
        reader: RollupReader,
        *,
        clock: Callable[[], datetime],
        ttl_seconds: float = 600.0,
        settle_days: int = SETTLE_DAYS,
        campaign_settle_days: int = CAMPAIGN_SETTLE_DAYS,
        max_entries: int = 5_000,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self._reader = reader
        self._clock = clock
        self._ttl = ttl_seconds
        self._settle = settle_days
        self._campaign_settle = campaign_settle_days
        self._max = max_entries
        self._timer = timer
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()
        #: Reads answered from memory (wholly or for their settled days) and reads that went to storage.
        self.hits = 0
        self.misses = 0

    async def read(
        self, appid: str, scope: str, first: str, last: str, metrics: Collection[str] | None = None
    ) -> list[Rollup]:
        key: Key = ("scope", appid, scope, None if metrics is None else tuple(sorted(metrics)))

        async def fetch(start: str, end: str) -> list[Rollup]:
            return await self._reader.read(appid, scope, start, end, metrics)

        return await self._read(key, first, last, fetch)

    async def read_prefix(
        self, appid: str, prefix: str, first: str, last: str, metrics: Collection[str] | None = None
    ) -> list[Rollup]:
        key: Key = ("prefix", appid, prefix, None if metrics is None else tuple(sorted(metrics)))

        async def fetch(start: str, end: str) -> list[Rollup]:
            return await self._reader.read_prefix(appid, prefix, start, end, metrics)

        return await self._read(key, first, last, fetch)

    async def _read(
        self, key: Key, first: str, last: str, fetch: Callable[[str, str], Awaitable[list[Rollup]]]
    ) -> list[Rollup]:
        wait = self._campaign_settle if _backdated(key) else self._settle
        settled = (beijing_today(self._clock()) - timedelta(days=wait)).isoformat()
        if first > settled or self._ttl <= 0:
            return await fetch(first, last)
        settled_last = min(last, settled)
        entry = self._fresh_entry(key)
        if entry is None or settled_last < _previous_day(entry.first) or _next_day(entry.last) < first:
            # Nothing kept next to these days: read them all, and keep their settled part.
            self.misses += 1
            found = await fetch(first, last)
            self._keep(key, first, settled_last, [r for r in found if r.day <= settled_last], entry)
            return found
        # Read only the settled days on either side of what is kept, and the days not settled yet.
        missing = []
        if first < entry.first:
            missing.append((first, _previous_day(entry.first)))
        if entry.last < settled_last:
            missing.append((_next_day(entry.last), settled_last))
        self.hits += not missing
        self.misses += bool(missing)
        recent = [(_next_day(settled), last)] if last > settled else []
        parts = await asyncio.gather(*(fetch(start, end) for start, end in (*missing, *recent)))
        added = [r for part in parts[: len(missing)] for r in part]
        if missing:
            self._keep(key, min(first, entry.first), max(settled_last, entry.last), added, entry)
        kept = [r for r in entry.rollups if first <= r.day <= settled_last]
        return kept + added + [r for part in parts[len(missing) :] for r in part]

    def _fresh_entry(self, key: Key) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= self._timer():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def _keep(self, key: Key, first: str, last: str, rollups: list[Rollup], old: _Entry | None) -> None:
        if old is not None and old.first <= _next_day(last) and first <= _next_day(old.last):
            # Overlapping or adjacent: one entry over both, expiring when the older part does.
            seen = {(r.scope, r.day) for r in rollups}
            rollups = rollups + [r for r in old.rollups if (r.scope, r.day) not in seen]
            entry = _Entry(min(first, old.first), max(last, old.last), rollups, old.expires)
        else:
            entry = _Entry(first, last, rollups, self._timer() + self._ttl)
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)


def _backdated(key: Key) -> bool:
    """Whether the read may hold counters counted on an earlier day than their event's (a campaign's
    invitees lost, on their credit day)."""
    _, _, scope, metrics = key
    return scope.startswith(_SLOW_SCOPES) and (metrics is None or any(m.startswith(_BACKDATED) for m in metrics))


def _next_day(day: str) -> str:
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def _previous_day(day: str) -> str:
    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()
