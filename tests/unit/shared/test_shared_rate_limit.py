"""SharedRateLimiter's leases over a stand-in collection (the MongoDB-protocol server's part is in
tests/integration/shared/test_shared_rate_limit.py): slots spaced at the pace, leases growing while
every slot is taken, MongoDB away for a moment waited out, and a failed lease not kept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo.errors import AutoReconnect

from shared.wechat_client import RATE_BUDGETS, Clock, RateLimit, SharedRateLimiter, WeChatApiConfig

API = "message/template/send"


class FakeClock(Clock):
    def __init__(self) -> None:
        self.at = 1_000_000.0

    def monotonic(self) -> float:
        return self.at

    def now(self) -> datetime:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=self.at)

    async def sleep(self, seconds: float) -> None:
        self.at += seconds
        await asyncio.sleep(0)


class Budgets:
    """``find_one_and_update`` with the limiter's pipeline, in memory; ``failures`` fail first."""

    def __init__(self) -> None:
        self.docs: dict[str, float] = {}
        self.failures = 0

    async def find_one_and_update(self, query: dict[str, Any], pipeline: list[Any], **_: Any) -> dict[str, Any]:
        if self.failures:
            self.failures -= 1
            raise AutoReconnect("connection refused")
        add = pipeline[0]["$set"]["next_free"]["$add"]
        earliest, length = add[0]["$max"][1], add[1]
        current = self.docs.get(query["_id"])
        self.docs[query["_id"]] = (earliest if current is None else max(current, earliest)) + length
        return {"_id": query["_id"], "next_free": self.docs[query["_id"]]}


def _limiter(budgets: Budgets, clock: FakeClock) -> SharedRateLimiter:
    config = WeChatApiConfig(rate_limits={API: RateLimit(calls=100, period=1.0, burst=1)})
    return SharedRateLimiter({RATE_BUDGETS: budgets}, config, apis=[API], clock=clock)  # type: ignore[arg-type]


async def test_calls_are_spaced_at_the_pace_and_leases_grow() -> None:
    budgets, clock = Budgets(), FakeClock()
    limiter = _limiter(budgets, clock)
    started = clock.at
    times = []
    for _ in range(40):
        await limiter.acquire("wx1", API)
        times.append(clock.at)
    assert times[-1] - started == pytest.approx(39 / 100)  # 100/s, the first at once
    assert limiter.round_trips == 10  # leases of 1, 2, 4, then 5 slots (50 ms at 100/s): 40 calls


async def test_mongodb_away_for_a_moment_is_waited_out_and_a_failed_lease_is_not_kept() -> None:
    budgets, clock = Budgets(), FakeClock()
    limiter = _limiter(budgets, clock)
    budgets.failures = 2
    await limiter.acquire("wx1", API)  # two failures waited out
    budgets.failures = 100
    limiter._keys[("wx1", API)].lease = None
    with pytest.raises(AutoReconnect):
        await limiter.acquire("wx1", API)
    budgets.failures = 0
    await limiter.acquire("wx1", API)  # a new lease, not the failed one again


async def test_a_burst_is_used_even_when_mongodb_answers_slowly() -> None:
    """The burst's slots are due before the lease comes back: late by the round trip, not given up."""
    budgets, clock = Budgets(), FakeClock()
    original = budgets.find_one_and_update

    async def slow(query: dict[str, Any], pipeline: list[Any], **kwargs: Any) -> dict[str, Any]:
        answer = await original(query, pipeline, **kwargs)
        clock.at += 0.2  # a round trip far longer than the lateness allowed
        return answer

    budgets.find_one_and_update = slow  # type: ignore[method-assign]
    config = WeChatApiConfig(rate_limits={API: RateLimit(calls=2500, period=1.0, burst=125)})
    limiter = SharedRateLimiter({RATE_BUDGETS: budgets}, config, apis=[API], clock=clock)  # type: ignore[arg-type]
    for _ in range(10):
        await asyncio.wait_for(limiter.acquire("wx1", API), 5)
    assert limiter.round_trips <= 4
