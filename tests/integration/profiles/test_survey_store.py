"""One contract for the survey store port, run against the in-memory adapter and MongoDB's."""

from __future__ import annotations

import abc
from datetime import UTC, datetime
from typing import Any

import pytest

from services.profiles.adapters.memory import InMemorySurveys
from services.profiles.adapters.surveys import INDEXES, MongoSurveys
from services.profiles.domain.surveys import (
    Prize,
    PrizeKind,
    Question,
    QuestionKind,
    Survey,
    SurveyOption,
    SurveyStatus,
)
from services.profiles.service_layer.ports import SurveyStore
from shared.storage import StorageConflict, ensure_indexes

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
QUESTION = Question("feeding", QuestionKind.SINGLE, "怎么喂养？", (SurveyOption("formula", "奶粉", ()),))
PRIZES = (Prize("c10", "10元券", PrizeKind.COUPON, 0.5, 2), Prize("c50", "50元券", PrizeKind.COUPON, 0.1, 0))


def _survey(survey_id: str = "s1", appid: str = "wx1") -> Survey:
    return Survey(survey_id, appid, "小调查", (QUESTION,), PRIZES)


class SurveyStoreContract(abc.ABC):
    @abc.abstractmethod
    @pytest.fixture
    async def store(self) -> Any: ...

    async def test_a_survey_reads_back_only_in_its_account(self, store: SurveyStore) -> None:
        await store.add(_survey(), T0)
        assert await store.get("wx1", "s1") == _survey()
        assert await store.get("wx2", "s1") is None
        assert await store.get("wx1", "nope") is None

    async def test_the_same_survey_cannot_be_added_twice(self, store: SurveyStore) -> None:
        await store.add(_survey(), T0)
        with pytest.raises(StorageConflict):
            await store.add(_survey(), T0)

    async def test_status_moves_are_kept(self, store: SurveyStore) -> None:
        await store.add(_survey(), T0)
        await store.set_status("s1", SurveyStatus.PUBLISHED)
        found = await store.get("wx1", "s1")
        assert found is not None and found.status is SurveyStatus.PUBLISHED

    async def test_a_member_responds_once(self, store: SurveyStore) -> None:
        await store.add(_survey(), T0)
        assert await store.add_response("s1:wx1:o1", {"survey_id": "s1", "answers": {"feeding": ["formula"]}})
        assert not await store.add_response("s1:wx1:o1", {"survey_id": "s1", "answers": {}})
        assert (await store.results("s1"))["responses"] == 1

    async def test_stock_is_taken_down_to_zero_and_never_below(self, store: SurveyStore) -> None:
        await store.add(_survey(), T0)
        assert [await store.take_stock("s1", "c10") for _ in range(3)] == [True, True, False]
        assert not await store.take_stock("s1", "c50")
        assert not await store.take_stock("s1", "unknown")
        assert (await store.results("s1"))["remaining"] == {"c10": 0, "c50": 0}

    async def test_a_draw_is_recorded_once_and_counted_by_prize(self, store: SurveyStore) -> None:
        await store.add(_survey(), T0)
        await store.record_draw("s1:wx1:o1", {"survey_id": "s1", "prize_id": "c10"})
        await store.record_draw("s1:wx1:o2", {"survey_id": "s1", "prize_id": None})
        with pytest.raises(StorageConflict):
            await store.record_draw("s1:wx1:o1", {"survey_id": "s1", "prize_id": "c10"})
        draw = await store.draw_of("s1:wx1:o1")
        assert draw is not None and draw["prize_id"] == "c10"
        assert await store.draw_of("s1:wx1:o3") is None
        assert (await store.results("s1"))["draws"] == {"c10": 1, "none": 1}


class TestInMemorySurveys(SurveyStoreContract):
    @pytest.fixture
    async def store(self) -> Any:
        return InMemorySurveys()


@pytest.mark.integration
class TestMongoSurveys(SurveyStoreContract):
    @pytest.fixture
    async def store(self, database: Any) -> Any:
        await ensure_indexes(database, INDEXES)
        return MongoSurveys(database)
