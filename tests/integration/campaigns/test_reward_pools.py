"""One contract for reward pools (the ``RewardPools`` port), run against the in-memory adapter and
MongoDB's: codes are handed out once, never oversold, idempotently per grant key."""

from __future__ import annotations

import abc
import asyncio
from typing import Any

import pytest

from services.campaigns.adapters.memory import InMemoryRewardPools
from services.campaigns.adapters.reward_pools import INDEXES, MongoRewardPools
from services.campaigns.domain.rewards import PoolStock
from services.campaigns.service_layer.ports import RewardPools
from shared.storage import ensure_indexes

CODES = [f"CODE{n:03d}" for n in range(10)]


class RewardPoolsContract(abc.ABC):
    @abc.abstractmethod
    @pytest.fixture
    async def pools(self) -> RewardPools: ...

    async def test_fifty_concurrent_grants_share_ten_codes_without_overselling(self, pools: RewardPools) -> None:
        await pools.add_codes("c1", "A", CODES)
        results = await asyncio.gather(*(pools.allocate("c1", "A", f"grant-{n}") for n in range(50)))
        granted = [code for code in results if code is not None]
        assert sorted(granted) == CODES  # each code exactly once
        assert results.count(None) == 40
        assert await pools.stock("c1") == [PoolStock("A", 10, 10)]

    async def test_the_same_grant_key_always_gets_the_same_code(self, pools: RewardPools) -> None:
        await pools.add_codes("c1", "A", CODES)
        first = await pools.allocate("c1", "A", "inviter-o1:tier-3")
        again = await asyncio.gather(*(pools.allocate("c1", "A", "inviter-o1:tier-3") for _ in range(20)))
        assert first is not None and set(again) == {first}
        assert await pools.stock("c1") == [PoolStock("A", 10, 1)]

    async def test_concurrent_first_grants_with_one_key_take_one_code(self, pools: RewardPools) -> None:
        await pools.add_codes("c1", "A", CODES)
        results = await asyncio.gather(*(pools.allocate("c1", "A", "redelivered") for _ in range(20)))
        assert len(set(results)) == 1 and results[0] is not None
        assert (await pools.stock("c1"))[0].allocated == 1

    async def test_an_exhausted_pool_grants_nothing_but_keeps_earlier_grants(self, pools: RewardPools) -> None:
        await pools.add_codes("c1", "A", CODES[:2])
        assert await pools.allocate("c1", "A", "g1") is not None
        assert await pools.allocate("c1", "A", "g2") is not None
        assert await pools.allocate("c1", "A", "g3") is None
        assert await pools.allocate("c1", "A", "g1") is not None
        assert await pools.allocate("c1", "B", "g1") is None  # an unknown pool is an empty one

    async def test_pools_and_campaigns_are_separate(self, pools: RewardPools) -> None:
        await pools.add_codes("c1", "A", CODES[:3])
        await pools.add_codes("c1", "B", CODES[:1])
        await pools.add_codes("c2", "A", CODES[:5])
        code_a = await pools.allocate("c1", "A", "g1")
        code_b = await pools.allocate("c1", "B", "g1")  # one code per pool for the same key
        assert code_a is not None and code_b == "CODE000"
        assert await pools.stock("c1") == [PoolStock("A", 3, 1), PoolStock("B", 1, 1)]
        assert await pools.stock("c2") == [PoolStock("A", 5, 0)]
        assert await pools.stock("c3") == []

    async def test_uploading_the_same_codes_again_adds_only_new_ones(self, pools: RewardPools) -> None:
        first = await pools.add_codes("c1", "A", CODES[:5])
        second = await pools.add_codes("c1", "A", [*CODES[3:8], "CODE005"])
        assert (first.added, first.already_in_pool) == (5, 0)
        assert (second.added, second.already_in_pool) == (3, 2)
        assert (await pools.add_codes("c1", "A", [])).added == 0
        assert await pools.stock("c1") == [PoolStock("A", 8, 0)]

    async def test_generated_codes_are_added_and_allocatable(self, pools: RewardPools) -> None:
        assert await pools.generate("c1", "A", 25) == 25
        assert await pools.generate("c1", "A", 5) == 5
        assert await pools.stock("c1") == [PoolStock("A", 30, 0)]
        code = await pools.allocate("c1", "A", "g1")
        assert code is not None and len(code) == 10


class TestInMemoryRewardPools(RewardPoolsContract):
    @pytest.fixture
    async def pools(self) -> RewardPools:
        return InMemoryRewardPools()


@pytest.mark.integration
class TestMongoRewardPools(RewardPoolsContract):
    @pytest.fixture
    async def pools(self, database: Any) -> RewardPools:
        await ensure_indexes(database, INDEXES)
        return MongoRewardPools(database)
