"""Two dispatchers racing for the same members against the MongoDB-protocol server (issue 19 item 5):
both decide a slice before either reserves it, and the frequency cap (one push a day) still lets each
member through once: the reservation that read a version another push moved on loses, and the member
is decided again on what is there now."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.segments.adapters.push_documents import push_from_document
from services.segments.adapters.store import DELIVERIES, INDEXES, MEMBER_SENDS, MongoPushes
from services.segments.adapters.waiting_store import WAITING_INDEXES, MongoWaitingSends
from services.segments.domain.pushes import Channel
from services.segments.service_layer.dispatch import DispatchConfig, Dispatcher
from services.segments.service_layer.ports import Content
from services.segments.service_layer.waiting import WaitingSends
from shared.contracts import PROFILES_READ_MODEL
from shared.storage import ensure_indexes
from tests.fakes.sender import RecordingSender

pytestmark = pytest.mark.integration

MEMBERS = [f"o_race_{n:03d}" for n in range(60)]
TEMPLATE = {"template_id": "tpl", "data": {"first": "hi"}, "url": ""}


class SlowSender(RecordingSender):
    """The platform taking a moment per send, so the two pushes' slices overlap."""

    async def send(self, appid: str, openid: str, channel: Channel, content: Content, client_msg_id: str) -> int | None:
        await asyncio.sleep(0.002)
        await super().send(appid, openid, channel, content, client_msg_id)
        return None


class Racing(MongoPushes):
    """Holds its first claim of delivery records until the other dispatcher has decided its slice too."""

    def __init__(self, database: Any, barrier: asyncio.Barrier) -> None:
        super().__init__(database)
        self.barrier: asyncio.Barrier | None = barrier

    async def record(self, documents: Sequence[dict[str, Any]]) -> set[str]:
        if self.barrier is not None:
            barrier, self.barrier = self.barrier, None
            await barrier.wait()
        return await super().record(documents)


def _push(push_id: str, now: datetime) -> dict[str, Any]:
    return {
        "_id": push_id,
        "appid": "wx1",
        "name": push_id,
        "segment_id": "seg_1",
        "variants": [{"name": "A", "weight": 1, "template": TEMPLATE}],
        "send_at": now - timedelta(seconds=1),
        "quiet_hours": None,
        "cap": {"per_day": 1, "per_week": 3},
        "broadcast": False,
        "status": "sending",
        "created_at": now,
        "resume_at": None,
        "lease_until": None,
        "stats": {"total": {"targeted": 0, "sent": 0}},
    }


async def test_two_pushes_deciding_the_same_members_at_once_send_each_member_once(database: Any) -> None:
    await ensure_indexes(database, INDEXES)
    now = datetime.now(UTC)
    await database[PROFILES_READ_MODEL.collection].insert_many(
        [
            {
                "_id": f"wx1:{openid}",
                "openid": openid,
                "follow": {"following": True},
                "consents": {"marketing": {"given": True}},
                "last_active_at": now - timedelta(days=5),  # outside the window: template messages
            }
            for openid in MEMBERS
        ]
    )
    barrier = asyncio.Barrier(2)
    stores = [Racing(database, barrier), Racing(database, barrier)]
    for n, store in enumerate(stores):
        await store.insert(_push(f"push_race_{n}", now))
        await store.save_audience(f"push_race_{n}", MEMBERS, 1000)
    senders = [SlowSender(), SlowSender()]
    config = DispatchConfig(click_base_url="https://c.example", click_key=b"k", slice_size=20)
    dispatchers = [
        Dispatcher(store, sender, config, read_push=push_from_document)
        for store, sender in zip(stores, senders, strict=True)
    ]

    async def drain(dispatcher: Dispatcher) -> None:
        while await dispatcher.run_once():
            pass

    await asyncio.wait_for(asyncio.gather(*(drain(d) for d in dispatchers)), 60)

    sent = senders[0].sent + senders[1].sent
    assert sorted(sent) == MEMBERS  # every member once, from one push or the other
    for openid in MEMBERS:
        sends = await database[MEMBER_SENDS].find_one({"_id": f"wx1:{openid}"})
        assert sends is not None and len(sends["recent"]) == 1, sends
    skipped = await database[DELIVERIES].count_documents({"reason": "frequency_cap"})
    assert skipped == len(MEMBERS)
    totals = [(await stores[0].get(f"push_race_{n}") or {})["stats"]["total"] for n in range(2)]
    assert sum(t.get("sent", 0) for t in totals) == len(MEMBERS)
    assert sum(t.get("skipped", {}).get("frequency_cap", 0) for t in totals) == len(MEMBERS)


class RacingTake(MongoWaitingSends):
    """Holds its first take of a waiting record (after the member was decided) until the dispatcher has
    decided its first slice too."""

    def __init__(self, database: Any, barrier: asyncio.Barrier) -> None:
        super().__init__(database)
        self.barrier: asyncio.Barrier | None = barrier

    async def take(self, delivery_id: str, now: datetime) -> bool:
        if self.barrier is not None:
            barrier, self.barrier = self.barrier, None
            await barrier.wait()
        return await super().take(delivery_id, now)


async def test_a_send_after_the_wait_and_a_push_deciding_the_same_members_send_each_member_once(
    database: Any,
) -> None:
    """Sends that waited for the window reserve the cap as the dispatcher does (issue 21 item 10): a
    member whose interaction sends a waiting push while another push is sent to them gets one of the
    two, never both, with one push a day."""
    await ensure_indexes(database, (*INDEXES, *WAITING_INDEXES))
    now = datetime.now(UTC)
    members = MEMBERS[:30]
    await database[PROFILES_READ_MODEL.collection].insert_many(
        [
            {
                "_id": f"wx1:{openid}",
                "openid": openid,
                "follow": {"following": True},
                "consents": {"marketing": {"given": True}},
                "last_active_at": now - timedelta(minutes=5),  # they just interacted: the window is open
            }
            for openid in members
        ]
    )
    text = {"kind": "text", "text": "hi", "media_id": "", "articles": []}
    waited = _push("push_waited", now) | {
        "variants": [{"name": "A", "weight": 1, "message": text}],
        "status": "finished",
        "wait_for_window_hours": 72,
        "quiet_hours": None,
    }
    sent_now = _push("push_now", now) | {"variants": [{"name": "A", "weight": 1, "message": text}]}
    barrier = asyncio.Barrier(2)
    dispatch_store = Racing(database, barrier)
    await dispatch_store.insert(waited)
    await dispatch_store.insert(sent_now)
    await dispatch_store.save_audience("push_now", members, 1000)
    await database[DELIVERIES].insert_many(
        [
            {
                "_id": f"push_waited:{openid}",
                "push_id": "push_waited",
                "appid": "wx1",
                "openid": openid,
                "variant": "A",
                "status": "waiting",
                "created_at": now - timedelta(days=1),
                "finished_at": None,
                "wait_until": now + timedelta(hours=48),
                # Their interaction opened it; the first member of the push's first slice comes first.
                "window_until": now + timedelta(hours=47, seconds=n),
            }
            for n, openid in enumerate(members)
        ]
    )
    senders = [SlowSender(), SlowSender()]
    config = DispatchConfig(click_base_url="https://c.example", click_key=b"k", slice_size=10)
    dispatcher = Dispatcher(dispatch_store, senders[0], config, read_push=push_from_document)
    waiting = WaitingSends(
        MongoPushes(database),
        RacingTake(database, barrier),
        senders[1],
        dispatcher.personalize,
        read_push=push_from_document,
        retry_seconds=0,
    )

    async def drain_pushes() -> None:
        while await dispatcher.run_once():
            pass

    async def drain_waits() -> None:
        while await waiting.sweep():
            pass

    await asyncio.wait_for(asyncio.gather(drain_pushes(), drain_waits()), 60)

    assert sorted(senders[0].sent + senders[1].sent) == members  # every member once, from one push or the other
    for openid in members:
        sends = await database[MEMBER_SENDS].find_one({"_id": f"wx1:{openid}"})
        assert sends is not None and len(sends["recent"]) == 1, sends
    # The members the other push got first keep waiting (capped today), for a later interaction.
    still_waiting = await database[DELIVERIES].count_documents({"push_id": "push_waited", "status": "waiting"})
    assert still_waiting == len(senders[0].sent)
