"""The push benchmark's own parts: its members all get the template, and its pacing check counts right
(no timing here)."""

from __future__ import annotations

from datetime import UTC, datetime

from pymongo import monitoring

from scrm_dev.bench_pushes import _busiest_second, _Commands, _push_document, _recipients
from scrm_dev.stack import DEMO_APPID
from services.segments.adapters.memory import InMemoryPushes
from services.segments.adapters.push_documents import push_from_document
from services.segments.domain.pushes import Channel, decide
from services.segments.service_layer.dispatch import DispatchConfig, Dispatcher, _recipient
from tests.fakes.sender import RecordingSender


def test_every_bench_member_gets_the_template_of_the_bench_push() -> None:
    now = datetime.now(UTC)
    push = push_from_document(_push_document("push_x", "wx1", "seg_x", now) | {"status": "sending"})
    documents = _recipients("o_t_", 50, now)
    assert len({d["openid"] for d in documents}) == 50
    for document in documents:
        for variant in push.variants:
            decision = decide(_recipient(document, {}, "2026-01"), variant, push.cap, now)
            assert decision.channel is Channel.TEMPLATE, decision


def test_the_busiest_second_counts_requests_started_within_one_second() -> None:
    assert _busiest_second([]) == 0
    assert _busiest_second([0.0, 0.5, 0.99, 1.0, 1.5, 1.98]) == 4  # 0.99 to 1.98
    assert _busiest_second([0.0, 2.0, 4.0]) == 1
    assert _busiest_second([i / 8 for i in range(40)]) == 8  # steady 8/s


async def test_the_dispatcher_sends_the_bench_push_through_the_store_in_memory() -> None:
    """The bench's "own work" row: the dispatcher over InMemoryPushes, as set up there."""
    now = datetime.now(UTC)
    documents = _recipients("o_own_", 1_200, now)
    doc = _push_document("push_own", DEMO_APPID, "seg_own", now) | {"status": "sending", "cursor": None}
    store = InMemoryPushes()
    await store.insert(doc)
    await store.save_audience(doc["_id"], [d["openid"] for d in documents], 500)
    store.add_profiles(documents)
    sender = RecordingSender()
    config = DispatchConfig(click_base_url="http://127.0.0.1:8014", click_key=b"k")
    dispatcher = Dispatcher(store, sender, config, read_push=push_from_document)
    while await dispatcher.run_once():
        pass
    assert sorted(sender.sent) == sorted(d["openid"] for d in documents)
    assert store.pushes["push_own"]["status"] == "finished"
    assert store.pushes["push_own"]["stats"]["total"]["sent"] == 1_200
    assert len(store.deliveries) == 1_200 and len(store.member_sends) == 1_200


def test_round_trips_are_counted_by_command_and_collection_while_on() -> None:
    commands = _Commands()

    def started(name: str, collection: str) -> monitoring.CommandStartedEvent:
        return monitoring.CommandStartedEvent({name: collection, "$db": "d"}, "d", 1, ("h", 1), None)

    commands.started(started("find", "push_deliveries"))  # off: not counted
    commands.active = True
    for _ in range(20):
        commands.started(started("find", "profiles"))
    commands.started(started("insert", "push_deliveries"))
    commands.started(
        monitoring.CommandStartedEvent({"commitTransaction": 1, "$db": "admin"}, "admin", 2, ("h", 1), None)
    )
    assert commands.counts == {"find profiles": 20, "insert push_deliveries": 1, "commitTransaction": 1}
    assert (
        commands.per_slice(2, top=2)
        == "11.0 MongoDB round trips a slice of 500 (find profiles 10.0, insert push_deliveries 0.5)"
    )
