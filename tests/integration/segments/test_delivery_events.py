"""``segments.deliveries`` against Tansu and SecantusDB: the dispatcher's outcomes and the click
redirect's clicks are written to the outbox with their records, and the worker's relay publishes them,
keyed by member, with the push's segment, variant and brand project and the push's and segment's names;
running the push again adds nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from scrm_dev.topics import read_records
from services.segments.adapters.store import CLICKS, DELIVERIES, INDEXES, MEMBER_SENDS, MongoPushes
from services.segments.entrypoints.http.deps import push_use_cases
from shared.contracts import CATALOG, PUSH_DELIVERIES, PushClicked, PushDelivered, PushDeliveryFailed
from shared.events import Envelope
from shared.storage import OUTBOX, StorageConflict, ensure_indexes
from tests.conftest import Infra, Isolation
from tests.integration.segments.test_pushes import APPID, RULE, Harness, h, members, profile  # noqa: F401

pytestmark = pytest.mark.integration

AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


async def test_deliveries_failures_and_clicks_are_published_with_the_push_s_project(
    h: Harness,  # noqa: F811
    infra: Infra,
    isolation: Isolation,
) -> None:
    await members(
        h,
        [
            profile("o_active"),  # talked: a customer-service message
            profile("o_quiet", active_hours_ago=100),  # the template
            profile("o_gone"),  # our profile says following; the platform knows better: 43004
            profile("o_no_consent", consent=False),  # skipped: never sent, never reported
        ],
        talk=("o_active",),
    )
    answer = await h.sim.post(f"/sim/accounts/{APPID}/members/o_gone/unfollow")
    assert answer.status_code < 300, answer.text
    segment = await h.api.segments.create(APPID, "late pregnancy, formula", "", RULE)
    push_id = await h.push("guide", segment.id, project_id="proj_7")
    await h.send_all()

    [custom] = [m for m in await h.inbox("o_active") if m["channel"] == "custom"]
    link = re.search(r"http://\S+/r/(\S+)", custom["payload"]["content"])
    assert link is not None
    clicks = push_use_cases(h.api)  # the redirect writes to the same database's outbox
    for _ in range(2):
        assert await clicks.click(link.group(1)) == "https://brand.example/guide"

    # Taken up again (a crashed worker): every member is recorded, nothing is sent or emitted again.
    await h.database["pushes"].update_one(
        {"_id": push_id}, {"$set": {"status": "sending", "cursor": {"chunk": 0, "offset": 0}}}
    )
    await h.send_all()

    assert h.worker.relay is not None
    await h.worker.relay.drain()
    assert await h.database[OUTBOX].count_documents({}) == 0
    records = await read_records(
        infra.kafka, PUSH_DELIVERIES.physical_name(isolation.topic_prefix), at_least=5, within=20
    )
    envelopes = [Envelope.from_bytes(record.value) for record in records]
    assert [record.key.decode() for record in records] == [e.payload["openid"] for e in envelopes]
    events: dict[str, Any] = {e.event_id: CATALOG.decode(e) for e in envelopes}
    assert set(events) == {
        f"push_delivered:{push_id}:o_active",
        f"push_delivered:{push_id}:o_quiet",
        f"push_failed:{push_id}:o_gone",
        f"push_clicked:{push_id}:{events[f'push_delivered:{push_id}:o_active'].variant}:o_active:1",
        f"push_clicked:{push_id}:{events[f'push_delivered:{push_id}:o_active'].variant}:o_active:2",
    }
    variants = {doc["openid"]: doc["variant"] async for doc in h.database[DELIVERIES].find({"push_id": push_id})}
    for event in events.values():
        assert (event.push_id, event.segment_id, event.project_id) == (push_id, segment.id, "proj_7")
        # Named as the push and its segment were when the audience was frozen (the segment's name kept then).
        assert (event.push_name, event.segment_name) == ("guide", "late pregnancy, formula")
        assert event.variant == variants[event.openid]
    active = events[f"push_delivered:{push_id}:o_active"]
    assert isinstance(active, PushDelivered) and active.channel == "customer_service"
    assert events[f"push_delivered:{push_id}:o_quiet"].channel == "template"
    gone = events[f"push_failed:{push_id}:o_gone"]
    assert isinstance(gone, PushDeliveryFailed) and gone.errcode == 43004
    clicked = sorted((e for e in events.values() if isinstance(e, PushClicked)), key=lambda e: e.click_id)
    assert [e.first for e in clicked] == [True, False]


async def test_a_transaction_keeps_its_records_and_events_together_or_neither(database: Any) -> None:
    await ensure_indexes(database, INDEXES)
    store = MongoPushes(database)
    event = PushDelivered(openid="o1", push_id="p1", segment_id="s1", channel="template", delivered_at=AT)
    envelope = Envelope.wrap(event, appid="wx1", key="o1", event_id="push_delivered:p1:o1")
    async with store.transaction() as uow:
        assert await uow.deliveries.record_click("p1", "A", "o1", "https://a.example/", AT) == 1
        await uow.deliveries.count_sends("wx1", ["o1"], AT)
        await uow.emit(PUSH_DELIVERIES, envelope)
        # left without commit
    assert await database[OUTBOX].count_documents({}) == 0
    assert await database[CLICKS].count_documents({}) == 0
    assert await database[MEMBER_SENDS].count_documents({}) == 0

    for attempt in range(2):  # a retried transaction: the same event, kept once
        async with store.transaction() as uow:
            clicks = [await uow.deliveries.record_click("p1", "A", "o1", "https://a.example/", AT) for _ in range(3)]
            await uow.emit(PUSH_DELIVERIES, envelope)
            await uow.commit()
        assert clicks == [1, 2, 3] if attempt == 0 else [4, 5, 6]
    [entry] = await database[OUTBOX].find({}).to_list()
    assert (entry["_id"], entry["topic"], entry["key"]) == ("push_delivered:p1:o1", "segments.deliveries", "o1")
    assert Envelope.model_validate_json(entry["envelope"]) == envelope
    assert await store.record_click("p1", "A", "", "https://a.example/", AT) == 0  # anonymous


async def test_events_and_template_ids_already_written_keep_their_first_entry(database: Any) -> None:
    """Written by read-then-insert (cheaper than upserts): a retried slice, or one event twice in a
    transaction, adds nothing and aborts nothing."""
    await ensure_indexes(database, INDEXES)
    store = MongoPushes(database)

    def delivered(openid: str, at: datetime) -> Envelope:
        event = PushDelivered(openid=openid, push_id="p1", segment_id="s1", channel="template", delivered_at=at)
        return Envelope.wrap(event, appid="wx1", key=openid, event_id=f"push_delivered:p1:{openid}")

    first = [delivered(f"o{n}", AT) for n in range(120)]
    async with store.transaction() as uow:
        await uow.deliveries.remember_templates("wx1", "p1", [(n, f"p1:o{n}", "A") for n in range(60)])
        for envelope in first[:60]:
            await uow.emit(PUSH_DELIVERIES, envelope)
        await uow.commit()
    later = datetime(2026, 12, 2, tzinfo=UTC)
    async with store.transaction() as uow:
        # The first 60 again (a later copy of each), 60 new ones, and one of those twice.
        sent = [(n, f"p1:o{n}", "B") for n in range(120)] + [(119, "p1:o119", "C")]
        await uow.deliveries.remember_templates("wx1", "p1", sent)
        for envelope in [delivered(f"o{n}", later) for n in range(60)] + first[60:] + [first[119]]:
            await uow.emit(PUSH_DELIVERIES, envelope)
        await uow.commit()
    entries = await database[OUTBOX].find({}).to_list()
    assert len(entries) == 120 and len({entry["_id"] for entry in entries}) == 120
    by_id = {entry["_id"]: Envelope.model_validate_json(entry["envelope"]) for entry in entries}
    assert all(by_id[envelope.event_id] == envelope for envelope in first)
    templates = {doc["_id"]: doc["variant"] async for doc in database["push_template_msgs"].find({})}
    assert len(templates) == 120
    assert templates["wx1:0"] == "A" and templates["wx1:60"] == "B" and templates["wx1:119"] == "B"


async def test_a_fresh_transaction_meeting_an_event_written_already_conflicts_and_a_rerun_keeps_the_first(
    database: Any,
) -> None:
    await ensure_indexes(database, INDEXES)
    store = MongoPushes(database)

    def delivered(at: datetime) -> Envelope:
        event = PushDelivered(openid="o1", push_id="p1", segment_id="s1", channel="template", delivered_at=at)
        return Envelope.wrap(event, appid="wx1", key="o1", event_id="push_delivered:p1:o1")

    first = delivered(AT)
    async with store.transaction(fresh=True) as uow:
        await uow.deliveries.remember_templates("wx1", "p1", [(7, "p1:o1", "A")])
        await uow.emit(PUSH_DELIVERIES, first)
        await uow.commit()
    later = datetime(2026, 12, 2, tzinfo=UTC)
    with pytest.raises(StorageConflict):
        async with store.transaction(fresh=True) as uow:
            await uow.deliveries.count_sends("wx1", ["o2"], later)
            await uow.emit(PUSH_DELIVERIES, delivered(later))
            await uow.commit()
    assert await database[MEMBER_SENDS].count_documents({}) == 0  # nothing of it committed
    with pytest.raises(StorageConflict):
        async with store.transaction(fresh=True) as uow:
            await uow.deliveries.remember_templates("wx1", "p1", [(7, "p1:o1", "B")])
    async with store.transaction() as uow:  # the rerun
        await uow.deliveries.remember_templates("wx1", "p1", [(7, "p1:o1", "B"), (8, "p1:o2", "B")])
        await uow.emit(PUSH_DELIVERIES, delivered(later))
        await uow.commit()
    [entry] = await database[OUTBOX].find({}).to_list()
    assert Envelope.model_validate_json(entry["envelope"]) == first
    templates = {doc["_id"]: doc["variant"] async for doc in database["push_template_msgs"].find({})}
    assert templates == {"wx1:7": "A", "wx1:8": "B"}
