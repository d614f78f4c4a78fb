"""The settled days of a scope are read from storage once per ``ttl_seconds``; recent days every time.
A day is settled after 3 days, in a campaign's scope after 35."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from services.analytics.adapters.settled_cache import SettledDaysCache
from services.analytics.domain.dashboards import Rollup
from tests.fakes.rollup_reader import RecordingRollupReader

#: Beijing 2026-03-15: days up to 2026-03-12 are settled, in a campaign's scope up to 2026-02-08.
NOW = datetime(2026, 3, 15, 4, 0, tzinfo=UTC)


class Timer:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _cache(reader: RecordingRollupReader, timer: Timer, ttl: float = 600.0) -> SettledDaysCache:
    return SettledDaysCache(reader, clock=lambda: NOW, ttl_seconds=ttl, timer=timer)


def _days(rollups: list[Rollup]) -> list[str]:
    return sorted(r.day for r in rollups)


async def test_a_second_read_takes_the_settled_days_from_memory_and_reads_the_recent_ones() -> None:
    reader, timer = RecordingRollupReader(), Timer()
    for day in ("2025-06-01", "2026-02-08", "2026-02-09", "2026-03-15"):
        reader.add("wx1", "campaign:c1", day, {"follows": 1})
    cache = _cache(reader, timer)
    first = await cache.read("wx1", "campaign:c1", "2025-03-16", "2026-03-15")
    reader.add("wx1", "campaign:c1", "2026-03-15", {"follows": 1})  # a recent day still changes
    second = await cache.read("wx1", "campaign:c1", "2025-03-16", "2026-03-15")
    assert _days(first) == _days(second) == ["2025-06-01", "2026-02-08", "2026-02-09", "2026-03-15"]
    assert [r.counters for r in second if r.day == "2026-03-15"] == [{"follows": 2}]
    assert reader.reads == [
        ("scope", "campaign:c1", "2025-03-16", "2026-03-15"),
        ("scope", "campaign:c1", "2026-02-09", "2026-03-15"),
    ]
    # A narrower settled range is within what is kept; of a wider one only the days before it are read,
    # and kept with the rest; a range apart from what is kept is read whole, and replaces it.
    assert _days(await cache.read("wx1", "campaign:c1", "2025-06-01", "2025-06-30")) == ["2025-06-01"]
    assert _days(await cache.read("wx1", "campaign:c1", "2025-01-01", "2025-06-30")) == ["2025-06-01"]
    assert len(await cache.read("wx1", "campaign:c1", "2025-01-01", "2026-03-15")) == 4
    assert reader.reads[2:] == [
        ("scope", "campaign:c1", "2025-01-01", "2025-03-15"),
        ("scope", "campaign:c1", "2026-02-09", "2026-03-15"),
    ]
    assert (cache.hits, cache.misses) == (3, 2)
    await cache.read("wx1", "campaign:c1", "2023-01-01", "2023-12-31")
    await cache.read("wx1", "campaign:c1", "2023-06-01", "2023-06-30")
    assert reader.reads[4:] == [("scope", "campaign:c1", "2023-01-01", "2023-12-31")]


async def test_settled_days_are_read_again_after_the_ttl_and_recent_ranges_are_never_kept() -> None:
    reader, timer = RecordingRollupReader(), Timer()
    reader.add("wx1", "account", "2026-01-01", {"follows": 1})
    cache = _cache(reader, timer)
    await cache.read("wx1", "account", "2026-01-01", "2026-01-31")
    reader.add("wx1", "account", "2026-01-01", {"follows": 5})  # a replay of old events
    assert [r.counters for r in await cache.read("wx1", "account", "2026-01-01", "2026-01-31")] == [{"follows": 1}]
    timer.now = 601
    assert [r.counters for r in await cache.read("wx1", "account", "2026-01-01", "2026-01-31")] == [{"follows": 6}]
    for _ in range(2):
        await cache.read("wx1", "account", "2026-03-13", "2026-03-15")
    assert reader.reads.count(("scope", "account", "2026-03-13", "2026-03-15")) == 2
    # A campaign's days settle after 35 days, unless the read leaves out the invitees lost.
    for metrics in (None, ["invitees_lost_7d"], ["credited"]):
        for _ in range(2):
            await cache.read_prefix("wx1", "campaign:", "2026-01-01", "2026-03-15", metrics)
    assert [read[2] for read in reader.reads if read[1] == "campaign:"] == [
        "2026-01-01", "2026-02-09", "2026-01-01", "2026-02-09", "2026-01-01", "2026-03-13",
    ]  # fmt: skip
    # Outside a campaign's scope a day settles after 3 days: of a month, the last 3 days are read again.
    for _ in range(2):
        await cache.read("wx1", "push:p1", "2026-02-14", "2026-03-15")
    assert reader.reads[-2:] == [
        ("scope", "push:p1", "2026-02-14", "2026-03-15"),
        ("scope", "push:p1", "2026-03-13", "2026-03-15"),
    ]


async def test_scopes_accounts_metrics_and_prefixes_are_kept_apart() -> None:
    reader, timer = RecordingRollupReader(), Timer()
    reader.add("wx1", "account", "2026-01-01", {"follows": 1, "unfollows": 2})
    reader.add("wx2", "account", "2026-01-01", {"follows": 7})
    reader.add("wx1", "push:p1", "2026-01-01", {"delivered": 3})
    reader.add("wx1", "push:p2", "2026-03-01", {"delivered": 4})
    cache = _cache(reader, timer)
    only = await cache.read("wx1", "account", "2026-01-01", "2026-01-31", ["follows"])
    every = await cache.read("wx1", "account", "2026-01-01", "2026-01-31")
    other = await cache.read("wx2", "account", "2026-01-01", "2026-01-31")
    assert [r.counters for r in only] == [{"follows": 1}]
    assert [r.counters for r in every] == [{"follows": 1, "unfollows": 2}]
    assert [r.counters for r in other] == [{"follows": 7}]
    for _ in range(2):
        pushes = await cache.read_prefix("wx1", "push:", "2026-01-01", "2026-03-15")
        assert sorted(r.scope for r in pushes) == ["push:p1", "push:p2"]
    assert reader.reads[-2:] == [
        ("prefix", "push:", "2026-01-01", "2026-03-15"),
        ("prefix", "push:", "2026-03-13", "2026-03-15"),
    ]


async def test_without_a_ttl_everything_is_read_every_time() -> None:
    reader, timer = RecordingRollupReader(), Timer()
    cache = _cache(reader, timer, ttl=0)
    for _ in range(2):
        await cache.read("wx1", "account", "2025-01-01", "2025-12-31")
    assert len(reader.reads) == 2


async def test_any_sequence_of_reads_answers_what_storage_holds() -> None:
    rng = random.Random(5)
    reader, timer = RecordingRollupReader(), Timer()
    start = date(2025, 1, 1)
    for n in range(440):
        day = (start + timedelta(days=n)).isoformat()
        reader.add("wx1", "account", day, {"follows": n})
        if n % 3 == 0:
            reader.add("wx1", f"push:p{n % 7}", day, {"delivered": n})
    cache = _cache(reader, timer)
    for _ in range(300):
        first = start + timedelta(days=rng.randrange(440))
        last = min(date(2026, 3, 15), first + timedelta(days=rng.randrange(400)))
        timer.now += rng.choice((0, 0, 0, 200))
        if rng.random() < 0.5:
            found = await cache.read("wx1", "account", first.isoformat(), last.isoformat())
            truth = await reader.read("wx1", "account", first.isoformat(), last.isoformat())
        else:
            found = await cache.read_prefix("wx1", "push:", first.isoformat(), last.isoformat())
            truth = await reader.read_prefix("wx1", "push:", first.isoformat(), last.isoformat())
        assert sorted(found, key=_where) == sorted(truth, key=_where)


def _where(rollup: Rollup) -> tuple[str, str]:
    return rollup.scope, rollup.day
