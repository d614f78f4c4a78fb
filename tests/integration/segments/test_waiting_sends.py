"""Sends that wait for the window (issue 21 item 10): the ``WaitingStore`` contract against the in-memory
adapter and MongoDB's (every move conditional on the record's status, so two workers never both take a
record), and the push API's ``wait_for_window_hours`` (stored, shown, 422 naming the field)."""

from __future__ import annotations

import abc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.segments.adapters.memory import InMemoryPushes, InMemoryWaitingSends
from services.segments.adapters.store import DELIVERIES, INDEXES
from services.segments.adapters.waiting_store import WAITING_INDEXES, MongoWaitingSends
from services.segments.entrypoints.http import create_app
from services.segments.service_layer.ports import WaitingStore
from services.segments.settings import SegmentsSettings
from shared.identity import Role
from shared.storage import ensure_indexes
from tests.accounts import account
from tests.conftest import Infra, Isolation
from tests.fakes.sender import RecordingSender
from tests.identities import Callers
from tests.integration.conftest import LoadSettings

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def waiting(openid: str, *, push_id: str = "p1", wait_hours: int = 24) -> dict[str, Any]:
    return {
        "_id": f"{push_id}:{openid}",
        "push_id": push_id,
        "appid": "wx1",
        "openid": openid,
        "variant": "A",
        "status": "waiting",
        "created_at": NOW,
        "finished_at": None,
        "wait_until": NOW + timedelta(hours=wait_hours),
        "window_until": None,
    }


class WaitingStoreContract(abc.ABC):
    @abc.abstractmethod
    @pytest.fixture
    async def store(self) -> tuple[WaitingStore, Any]:
        """The store and a function that inserts records and reads one back."""

    async def test_an_interaction_opens_the_window_of_the_member_s_waits_only(
        self, store: tuple[WaitingStore, Any]
    ) -> None:
        port, seed = store
        await seed.insert([waiting("o1"), waiting("o1", push_id="p2"), waiting("o2"), waiting("o1", push_id="p3")])
        await seed.set("p3:o1", {"wait_until": NOW - timedelta(minutes=1)})  # ran out already
        until = NOW + timedelta(hours=48)
        opened = await port.open_window("wx1", "o1", until, NOW)
        assert sorted(d["_id"] for d in opened) == ["p1:o1", "p2:o1"]
        assert sorted(d["_id"] for d in await port.ready(NOW, 10)) == ["p1:o1", "p2:o1"]
        assert [d["_id"] for d in await port.due_to_expire(NOW, 10)] == ["p3:o1"]
        await port.close_window("p2:o1")
        assert [d["_id"] for d in await port.ready(NOW, 10)] == ["p1:o1"]

    async def test_a_record_is_taken_once_and_put_back_or_finished_conditionally(
        self, store: tuple[WaitingStore, Any]
    ) -> None:
        port, seed = store
        await seed.insert([waiting("o1"), waiting("o2")])
        assert await port.take("p1:o1", NOW) is True
        assert await port.take("p1:o1", NOW) is False  # a second worker finds nothing
        assert (await seed.get("p1:o1"))["status"] == "sending"
        assert await port.finish("p1:o1", {"status": "skipped"}) is False  # taken: not ended under a send
        await port.put_back("p1:o1")
        back = await seed.get("p1:o1")
        assert (back["status"], back["window_until"], back.get("channel")) == ("waiting", None, None)
        assert await port.finish("p1:o2", {"status": "skipped", "reason": "expired_waiting"}) is True
        assert await port.take("p1:o2", NOW) is False
        assert (await seed.get("p1:o2"))["reason"] == "expired_waiting"


class _MemorySeed:
    def __init__(self, pushes: InMemoryPushes) -> None:
        self.pushes = pushes

    async def insert(self, docs: list[dict[str, Any]]) -> None:
        await self.pushes.record(docs)

    async def set(self, key: str, fields: dict[str, Any]) -> None:
        self.pushes.deliveries[key] |= fields

    async def get(self, key: str) -> dict[str, Any]:
        return self.pushes.deliveries[key]


class _MongoSeed:
    def __init__(self, database: Any) -> None:
        self.collection = database[DELIVERIES]

    async def insert(self, docs: list[dict[str, Any]]) -> None:
        await self.collection.insert_many(docs)

    async def set(self, key: str, fields: dict[str, Any]) -> None:
        await self.collection.update_one({"_id": key}, {"$set": fields})

    async def get(self, key: str) -> dict[str, Any]:
        found = await self.collection.find_one({"_id": key})
        assert found is not None
        return dict(found)


class TestInMemoryWaitingSends(WaitingStoreContract):
    @pytest.fixture
    async def store(self) -> tuple[WaitingStore, Any]:
        pushes = InMemoryPushes()
        return InMemoryWaitingSends(pushes), _MemorySeed(pushes)


class TestMongoWaitingSends(WaitingStoreContract):
    @pytest.fixture
    async def store(self, database: Any) -> tuple[WaitingStore, Any]:
        await ensure_indexes(database, (*INDEXES, *WAITING_INDEXES))
        return MongoWaitingSends(database), _MongoSeed(database)


APPID = "wxwait001"


@pytest.fixture
def api(infra: Infra, isolation: Isolation, service_settings: LoadSettings) -> Iterator[TestClient]:
    callers = Callers.on(APPID)
    settings = service_settings(SegmentsSettings, wechat_accounts=[account(APPID)], click_link_secret="k" * 16)
    app = create_app(settings, identity=callers.config, follow_changes=False, sender=RecordingSender())
    with TestClient(app, headers=callers.headers(Role.ADMIN)) as client:
        yield client


def test_a_push_says_how_long_it_waits_for_the_window(api: TestClient) -> None:
    segment = api.post(
        f"/accounts/{APPID}/segments", json={"name": "all", "rule": {"has_tag": "interest.feeding.formula"}}
    )
    assert segment.status_code == 201, segment.text
    pushes = f"/accounts/{APPID}/pushes"
    text = {"message": {"kind": "text", "text": "hi"}}
    body = {"name": "p", "segment_id": segment.json()["id"], "variants": [text], "draft": True}
    for bad in (0, 721, "soon"):
        refused = api.post(pushes, json=body | {"wait_for_window_hours": bad})
        assert refused.status_code == 422, bad
        assert refused.json()["detail"][0]["loc"] == ["body", "wait_for_window_hours"]
    broadcast = api.post(pushes, json=body | {"broadcast": True, "wait_for_window_hours": 24})
    assert broadcast.status_code == 422
    assert broadcast.json()["detail"][0]["loc"] == ["body", "wait_for_window_hours"]

    created = api.post(pushes, json=body | {"wait_for_window_hours": 72})
    assert created.status_code == 201, created.text
    push = created.json()
    assert push["wait_for_window_hours"] == 72
    path = f"{pushes}/{push['id']}"
    renamed = api.patch(path, json={"name": "p2", "version": 1}).json()
    assert renamed["wait_for_window_hours"] == 72  # a PATCH without it keeps it
    cleared = api.patch(path, json={"wait_for_window_hours": None, "version": 2}).json()
    assert cleared["wait_for_window_hours"] is None
    assert api.post(pushes, json=body).json()["wait_for_window_hours"] is None


def test_a_marketing_push_never_carries_a_template_message(api: TestClient) -> None:
    """WeChat forbids marketing content in template messages: a marketing push whose variant has one
    is refused (422 naming ``marketing``), so it cannot fall back to templates outside the window."""
    segment = api.post(f"/accounts/{APPID}/segments", json={"name": "m", "rule": {"has_tag": "interest.toys"}})
    pushes = f"/accounts/{APPID}/pushes"
    template = {"template_id": "tpl", "data": {"thing1": "hi"}}
    text = {"kind": "text", "text": "八折"}
    body = {"name": "sale", "segment_id": segment.json()["id"], "draft": True, "marketing": True}
    refused = api.post(pushes, json=body | {"variants": [{"name": "A", "message": text, "template": template}]})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "marketing"]
    assert "never sent as a template" in refused.json()["detail"][0]["msg"]

    waits = api.post(pushes, json=body | {"variants": [{"message": text}], "wait_for_window_hours": 48})
    assert waits.status_code == 201, waits.text
    assert (waits.json()["marketing"], waits.json()["wait_for_window_hours"]) == (True, 48)
    push = waits.json()
    edited = api.patch(
        f"{pushes}/{push['id']}", json={"variants": [{"message": text, "template": template}], "version": 1}
    )
    assert edited.status_code == 422 and edited.json()["detail"][0]["loc"] == ["body", "marketing"]
    service = api.post(pushes, json=body | {"marketing": False, "variants": [{"message": text, "template": template}]})
    assert service.status_code == 201 and service.json()["marketing"] is False
