"""One contract for the rollup reader, run against the in-memory reader and MongoDB (SecantusDB here),
over documents in the shape the analytics worker writes."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import pytest

from services.analytics.adapters.memory_reader import InMemoryRollupReader
from services.analytics.adapters.rollup_reader import ROLLUP_READ_INDEXES, ROLLUPS, MongoRollupReader, prefix_bounds
from services.analytics.domain.dashboards import Rollup
from services.analytics.service_layer.ports import RollupReader
from shared.storage import ensure_indexes

Add = Callable[[str, str, str, Mapping[str, int]], Any]

DOCUMENTS = [
    ("wx1", "account", "2026-02-28", {"follows": 1}),
    ("wx1", "account", "2026-03-01", {"follows": 2, "follows:poster": 2}),
    ("wx1", "account", "2026-03-02", {"follows": 3}),
    ("wx1", "account", "2026-03-03", {"follows": 4}),
    ("wx2", "account", "2026-03-01", {"follows": 100}),
    ("wx1", "push:p1", "2026-03-01", {"delivered": 10, "failed:45015": 1}),
    ("wx1", "push:p2", "2026-03-02", {"delivered": 20}),
    ("wx1", "push:p3", "2026-04-01", {"delivered": 30}),
    ("wx1", "push;", "2026-03-01", {"delivered": 1}),
    ("wx1", "pushx", "2026-03-01", {"delivered": 1}),
    ("wx1", "project:push:p1", "2026-03-01", {"delivered": 1}),
    ("wx1", "campaign:c1", "2026-03-01", {"credited": 1}),
]


def _key(rollup: Rollup) -> tuple[str, str]:
    return rollup.scope, rollup.day


class RollupReaderContract(abc.ABC):
    @abc.abstractmethod
    @pytest.fixture
    async def reader(self) -> Any: ...

    async def test_one_scope_over_a_range_of_days_both_ends_included(self, reader: RollupReader) -> None:
        found = sorted(await reader.read("wx1", "account", "2026-03-01", "2026-03-02"), key=_key)
        assert found == [
            Rollup("account", "2026-03-01", {"follows": 2, "follows:poster": 2}),
            Rollup("account", "2026-03-02", {"follows": 3}),
        ]
        assert await reader.read("wx1", "account", "2026-05-01", "2026-05-31") == []
        assert await reader.read("wx9", "account", "2026-01-01", "2026-12-31") == []

    async def test_only_the_metrics_asked_for(self, reader: RollupReader) -> None:
        found = await reader.read("wx1", "account", "2026-03-01", "2026-03-01", ["follows:poster", "absent"])
        assert found == [Rollup("account", "2026-03-01", {"follows:poster": 2})]

    async def test_the_scopes_under_a_prefix_and_nothing_that_only_looks_like_it(self, reader: RollupReader) -> None:
        found = sorted(await reader.read_prefix("wx1", "push:", "2026-03-01", "2026-03-31"), key=_key)
        assert [(r.scope, r.day) for r in found] == [("push:p1", "2026-03-01"), ("push:p2", "2026-03-02")]
        assert found[0].counters == {"delivered": 10, "failed:45015": 1}
        campaigns = await reader.read_prefix("wx1", "campaign:", "2026-01-01", "2026-12-31")
        assert [r.scope for r in campaigns] == ["campaign:c1"]
        only = await reader.read_prefix("wx1", "push:", "2026-03-01", "2026-03-01", ["failed:45015"])
        assert only == [Rollup("push:p1", "2026-03-01", {"failed:45015": 1})]


class TestInMemoryRollupReader(RollupReaderContract):
    @pytest.fixture
    async def reader(self) -> Any:
        memory = InMemoryRollupReader()
        for appid, scope, day, counters in DOCUMENTS:
            memory.add(appid, scope, day, counters)
        return memory


class TestMongoRollupReader(RollupReaderContract):
    @pytest.fixture
    async def reader(self, database: Any) -> AsyncIterator[Any]:
        await ensure_indexes(database, ROLLUP_READ_INDEXES)
        await database[ROLLUPS].insert_many(
            [
                {"_id": f"{appid}|{scope}|{day}", "appid": appid, "scope": scope, "day": day, "c": dict(counters)}
                for appid, scope, day, counters in DOCUMENTS
            ]
        )
        yield MongoRollupReader(database)


def test_a_prefix_is_an_index_range() -> None:
    assert prefix_bounds("push:") == {"$gte": "push:", "$lt": "push;"}
    with pytest.raises(ValueError, match="empty prefix"):
        prefix_bounds("")
