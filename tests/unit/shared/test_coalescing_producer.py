"""CoalescingProducer against a scripted stand-in for aiokafka's client (the broker's side of the protocol)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiokafka.errors as kafka_errors
import pytest
from aiokafka.protocol.produce import ProduceRequest
from aiokafka.record.default_records import DefaultRecordBatch
from aiokafka.structs import TopicPartition

from shared.messaging._coalescing import CoalescingProducer

NO_ERROR, NOT_LEADER, TOO_LARGE = 0, 6, 10


@dataclass
class Sent:
    node: int
    records: dict[tuple[str, int], list[bytes]]


@dataclass
class FakeCluster:
    leaders: dict[TopicPartition, int | None]

    def leader_for_partition(self, tp: TopicPartition) -> int | None:
        return self.leaders.get(tp)

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        found = {tp.partition for tp in self.leaders if tp.topic == topic}
        return found or None


Answer = Callable[[Sent], dict[tuple[str, int], int] | Exception]


@dataclass
class FakeClient:
    """Answers produce requests like a broker: per partition an error code and the next offset."""

    cluster: FakeCluster
    answer: Answer = lambda sent: dict.fromkeys(sent.records, NO_ERROR)
    hold: asyncio.Event | None = None
    sent: list[Sent] = field(default_factory=list)
    metadata_updates: int = 0
    closed: bool = False
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)

    async def bootstrap(self) -> None:
        return None

    async def close(self) -> None:
        self.closed = True

    def force_metadata_update(self) -> asyncio.Future[bool]:
        self.metadata_updates += 1
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        future.set_result(True)
        return future

    def add_topic(self, topic: str) -> asyncio.Future[bool]:
        return self.force_metadata_update()

    async def send(self, node_id: int, request: ProduceRequest) -> Any:
        sent = Sent(node_id, {})
        for topic, partitions in request._topics:
            for partition, data in partitions:
                sent.records[(topic, partition)] = [record.value for record in DefaultRecordBatch(data)]
        self.sent.append(sent)
        if self.hold is not None:
            await self.hold.wait()
        outcome = self.answer(sent)
        if isinstance(outcome, Exception):
            raise outcome
        topics: dict[str, list[tuple[int, int, int, int, int]]] = {}
        for (topic, partition), code in outcome.items():
            base = self.offsets.get((topic, partition), 0)
            if code == NO_ERROR:
                self.offsets[(topic, partition)] = base + len(sent.records[(topic, partition)])
            topics.setdefault(topic, []).append((partition, code, base, -1, 0))
        return type("Response", (), {"topics": list(topics.items())})()


def cluster(partitions: int = 2, leader: int | None = 1) -> FakeCluster:
    return FakeCluster({TopicPartition("t", p): leader for p in range(partitions)})


def producer(client: FakeClient, **kwargs: Any) -> CoalescingProducer:
    kwargs.setdefault("retry_backoff_s", 0.01)
    return CoalescingProducer(client, **kwargs)


def send(p: CoalescingProducer, partition: int, value: bytes) -> asyncio.Future[int]:
    return p.send("t", partition, b"key", value, [("event-type", b"x")])


async def test_records_queued_in_one_loop_turn_leave_in_one_request_and_get_their_offsets() -> None:
    client = FakeClient(cluster())
    p = producer(client)
    futures = [send(p, i % 2, f"v{i}".encode()) for i in range(6)]
    offsets = await asyncio.gather(*futures)
    assert len(client.sent) == 1
    assert client.sent[0].records == {("t", 0): [b"v0", b"v2", b"v4"], ("t", 1): [b"v1", b"v3", b"v5"]}
    assert offsets == [0, 0, 1, 1, 2, 2]


async def test_records_arriving_while_a_request_is_out_leave_together_in_the_next() -> None:
    hold = asyncio.Event()
    client = FakeClient(cluster(), hold=hold)
    p = producer(client)
    first = send(p, 0, b"first")
    await asyncio.sleep(0)  # the first request is now out, and held
    later = []
    for i in range(5):
        later.append(send(p, i % 2, f"later{i}".encode()))
        await asyncio.sleep(0)
    assert len(client.sent) == 1
    hold.set()
    await asyncio.gather(first, *later)
    assert len(client.sent) == 2
    assert client.sent[1].records == {("t", 0): [b"later0", b"later2", b"later4"], ("t", 1): [b"later1", b"later3"]}


async def test_a_retriable_partition_error_retries_the_batch_ahead_of_newer_records() -> None:
    calls = 0

    def not_leader_once(sent: Sent) -> dict[tuple[str, int], int]:
        nonlocal calls
        calls += 1
        return {tp: (NOT_LEADER if calls == 1 and tp == ("t", 0) else NO_ERROR) for tp in sent.records}

    client = FakeClient(cluster(), answer=not_leader_once)
    p = producer(client)
    a, b = send(p, 0, b"a"), send(p, 1, b"b")
    await asyncio.sleep(0)
    c = send(p, 0, b"c")
    assert list(await asyncio.gather(a, b, c)) == [0, 0, 1]
    assert client.metadata_updates >= 1
    retried = [s.records[("t", 0)] for s in client.sent if ("t", 0) in s.records]
    assert retried == [[b"a"], [b"a", b"c"]]  # order kept: the retry goes first, newer records behind it


async def test_a_fatal_error_fails_only_that_partitions_records() -> None:
    client = FakeClient(
        cluster(), answer=lambda sent: {tp: (TOO_LARGE if tp == ("t", 0) else 0) for tp in sent.records}
    )
    p = producer(client)
    doomed, fine = send(p, 0, b"huge"), send(p, 1, b"ok")
    with pytest.raises(kafka_errors.MessageSizeTooLargeError):
        await doomed
    assert await fine == 0
    assert len(client.sent) == 1  # not retried


async def test_a_broker_that_stays_away_times_records_out_instead_of_hanging() -> None:
    client = FakeClient(cluster(), answer=lambda sent: kafka_errors.KafkaConnectionError("connection refused"))
    p = producer(client, delivery_timeout_s=0.1)
    with pytest.raises(kafka_errors.KafkaTimeoutError):
        await asyncio.wait_for(send(p, 0, b"x"), timeout=5)
    assert len(client.sent) > 1  # retried with backoff until the deadline
    assert client.metadata_updates >= 1


async def test_an_unknown_leader_refreshes_metadata_and_sends_once_it_is_known() -> None:
    topology = cluster(partitions=1, leader=None)
    client = FakeClient(topology)
    p = producer(client)
    future = send(p, 0, b"x")
    await asyncio.sleep(0.03)
    assert client.sent == [] and client.metadata_updates >= 1
    topology.leaders[TopicPartition("t", 0)] = 1
    assert await asyncio.wait_for(future, timeout=5) == 0


async def test_partitions_of_a_topic_come_from_metadata_and_an_unknown_topic_is_an_error() -> None:
    p = producer(FakeClient(cluster(partitions=3)))
    assert await p.partitions_for("t") == [0, 1, 2]
    with pytest.raises(kafka_errors.UnknownTopicOrPartitionError):
        await p.partitions_for("missing")


async def test_close_drains_what_it_can_then_refuses_new_records() -> None:
    hold = asyncio.Event()
    client = FakeClient(cluster(), hold=hold)
    p = producer(client)
    in_flight = send(p, 0, b"out")
    await asyncio.sleep(0)
    queued = send(p, 0, b"queued")
    await p.close(drain_timeout_s=0.05)
    for future in (in_flight, queued, send(p, 1, b"late")):
        with pytest.raises(kafka_errors.ProducerClosed):
            await future
    assert client.closed


async def test_close_waits_for_records_that_are_about_to_land() -> None:
    client = FakeClient(cluster())
    p = producer(client)
    futures = [send(p, i % 2, b"x") for i in range(4)]
    await p.close()
    assert [f.result() for f in futures] == [0, 0, 1, 1]
