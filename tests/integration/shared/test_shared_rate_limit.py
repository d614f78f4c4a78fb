"""One account's pace shared by several processes through the MongoDB-protocol server: two limiters
(two processes' worth) with many callers each never start more calls in any second than the limit
allows together, and together they reach it; other APIs keep their per-process buckets."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from shared.wechat_client import RATE_BUDGETS, RateLimit, SharedRateLimiter, WeChatApiConfig

pytestmark = pytest.mark.integration

API = "message/template/send"
RATE, BURST = 200, 5


def _busiest(starts: list[float], window: float) -> int:
    starts = sorted(starts)
    best, first = 0, 0
    for last, at in enumerate(starts):
        while at - starts[first] >= window:
            first += 1
        best = max(best, last - first + 1)
    return best


async def test_two_limiters_share_one_account_s_pace(database: Any) -> None:
    config = WeChatApiConfig(rate_limits={API: RateLimit(calls=RATE, period=1.0, burst=BURST)})
    limiters = [SharedRateLimiter(database, config, apis=[API]) for _ in range(2)]
    starts: list[float] = []

    async def caller(limiter: SharedRateLimiter, calls: int) -> None:
        for _ in range(calls):
            await limiter.acquire("wx1", API)
            starts.append(time.time())

    began = time.time()
    # 2 processes x 30 callers x 10 calls: 600 calls, three seconds at 200/s.
    await asyncio.wait_for(asyncio.gather(*(caller(lim, 10) for lim in limiters for _ in range(30))), 30)
    took = time.time() - began

    assert len(starts) == 600
    # Never more than the bucket allows (plus a slot's permitted lateness), in any window.
    assert _busiest(starts, 1.0) <= BURST + RATE * 1.05 + 1
    assert _busiest(starts, 0.25) <= BURST + RATE * 0.3 + 1
    # ... and the two together reach the pace rather than each taking half of it.
    assert took < 600 / RATE * 1.5, took
    assert all(limiter.round_trips < 150 for limiter in limiters), [lim.round_trips for lim in limiters]
    doc = await database[RATE_BUDGETS].find_one({"_id": f"wx1:{API}"})
    assert doc is not None and doc["next_free"] >= began + (600 - BURST) / RATE - 0.5


async def test_apis_not_shared_stay_per_process(database: Any) -> None:
    config = WeChatApiConfig(default_rate_limit=RateLimit(calls=1000, period=1.0, burst=50))
    limiter = SharedRateLimiter(database, config, apis=[API])
    for _ in range(20):
        await limiter.acquire("wx1", "user/info")
    assert limiter.round_trips == 0 and await database[RATE_BUDGETS].count_documents({}) == 0
