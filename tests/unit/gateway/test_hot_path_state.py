"""What the push path keeps between pushes: caches that never stall a burst of pushes on one query, and
in-memory stores that cost the garbage collector nothing however many entries they hold."""

from __future__ import annotations

import asyncio
import gc

import pytest

from services.gateway.adapters.cache import RefreshingCache
from services.gateway.adapters.ledger import MemoryPushLedger
from services.gateway.adapters.seen import MemorySeenRequests
from services.gateway.service_layer.ports import Claim


class Source:
    """A slow store that counts its loads and answers ``value`` (or raises ``error``)."""

    def __init__(self) -> None:
        self.loads = 0
        self.value = "v1"
        self.error: Exception | None = None
        self.gate = asyncio.Event()
        self.gate.set()

    async def load(self, key: str) -> str:
        self.loads += 1
        await self.gate.wait()
        if self.error is not None:
            raise self.error
        return f"{key}:{self.value}"


def cache(source: Source, now: list[float], **options: object) -> RefreshingCache[str]:
    return RefreshingCache(source.load, ttl=lambda _: 30.0, name="test", clock=lambda: now[0], **options)  # type: ignore[arg-type]


async def test_a_burst_of_misses_makes_one_load() -> None:
    source, now = Source(), [0.0]
    values = cache(source, now)
    source.gate.clear()
    waiting = [asyncio.ensure_future(values.get("wx1")) for _ in range(50)]
    await asyncio.sleep(0)
    source.gate.set()
    assert set(await asyncio.gather(*waiting)) == {"wx1:v1"}
    assert source.loads == 1


async def test_an_expired_entry_is_served_while_one_refresh_runs() -> None:
    source, now = Source(), [0.0]
    values = cache(source, now)
    assert await values.get("wx1") == "wx1:v1"
    now[0], source.value = 31.0, "v2"
    source.gate.clear()
    # Nobody waits for the refresh: the pushes of that moment get the rules they had.
    assert [await values.get("wx1") for _ in range(20)] == ["wx1:v1"] * 20
    await asyncio.sleep(0)
    assert source.loads == 2
    source.gate.set()
    await asyncio.sleep(0.01)
    assert await values.get("wx1") == "wx1:v2"
    assert source.loads == 2


async def test_a_value_that_must_not_outlive_its_time_is_loaded_again_first() -> None:
    source, now = Source(), [0.0]
    values = cache(source, now, stale_ok=lambda value: not value.endswith("missing"))
    source.value = "missing"
    assert await values.get("wx1") == "wx1:missing"
    now[0], source.value = 31.0, "found"
    assert await values.get("wx1") == "wx1:found"


async def test_a_failed_refresh_keeps_the_cached_copy_and_the_next_get_tries_again() -> None:
    source, now = Source(), [0.0]
    values = cache(source, now)
    await values.get("wx1")
    now[0], source.error = 31.0, RuntimeError("storage down")
    assert await values.get("wx1") == "wx1:v1"
    await asyncio.sleep(0.01)
    source.error, source.value = None, "v2"
    assert await values.get("wx1") == "wx1:v1"  # starts the next refresh
    await asyncio.sleep(0.01)
    assert await values.get("wx1") == "wx1:v2"
    assert source.loads == 3


async def test_a_failed_first_load_fails_its_waiters_and_is_not_cached() -> None:
    source, now = Source(), [0.0]
    values = cache(source, now)
    source.error = RuntimeError("storage down")
    source.gate.clear()
    waiting = [asyncio.ensure_future(values.get("wx1")) for _ in range(3)]
    await asyncio.sleep(0)
    source.gate.set()
    for result in await asyncio.gather(*waiting, return_exceptions=True):
        assert isinstance(result, RuntimeError)
    assert source.loads == 1
    source.error = None
    assert await values.get("wx1") == "wx1:v1"


async def test_a_cancelled_caller_does_not_cancel_the_shared_load() -> None:
    source, now = Source(), [0.0]
    values = cache(source, now)
    source.gate.clear()
    impatient = asyncio.ensure_future(values.get("wx1"))
    patient = asyncio.ensure_future(values.get("wx1"))
    await asyncio.sleep(0)
    impatient.cancel()
    source.gate.set()
    assert await patient == "wx1:v1"
    with pytest.raises(asyncio.CancelledError):
        await impatient


async def test_the_cache_is_bounded_least_recently_used_first() -> None:
    source, now = Source(), [0.0]
    values = cache(source, now, max_entries=2)
    for key in ("a", "b", "a", "c"):
        await values.get(key)
    assert source.loads == 3
    await values.get("a")  # kept: used after b
    assert source.loads == 3
    await values.get("b")  # forgotten
    assert source.loads == 4


async def test_the_in_memory_stores_are_invisible_to_the_garbage_collector() -> None:
    # Entries the cyclic GC tracks are walked by collections: every young one walked the pushes since
    # the last, and (with an enum member inside) every full one all 200,000 of them: stalls of over
    # 100 ms. The stores keep atomic values only, so a push leaves nothing for the GC behind.
    ledger, seen = MemoryPushLedger(), MemorySeenRequests(window_seconds=300)
    await ledger.claim("warm-up")
    gc.collect()
    gc.disable()
    try:
        before = gc.get_count()[0]
        for number in range(1000):
            key = f"push-{number}"
            assert (await ledger.claim(key)).claim is Claim.NEW
            if number % 2:
                await ledger.complete(key, b"success")
            assert await seen.first_use(f"signed-{number}", "digest")
        assert gc.get_count()[0] - before < 50  # not one per push
    finally:
        gc.enable()
    assert (await ledger.claim("push-1")).claim is Claim.DONE
    assert (await ledger.claim("push-1")).reply == b"success"
    assert (await ledger.claim("push-2")).claim is Claim.IN_FLIGHT
    assert await seen.first_use("signed-3", "digest") and not await seen.first_use("signed-3", "other")
