"""The local broker `scrm infra` / `scrm up` run is durable: a restart, even kill -9, keeps topics, records
and committed offsets (Tansu's s3:// engine against the local object store, which outlives the broker)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.localinfra import LocalInfrastructure, free_port

pytestmark = pytest.mark.integration

TOPIC = "durable.check"
GROUP = "durable-check"


@pytest.fixture
def durable(tmp_path: Path) -> Iterator[LocalInfrastructure]:
    local = LocalInfrastructure(tmp_path, kafka=("127.0.0.1", free_port()), mongodb=("127.0.0.1", free_port()))
    try:
        yield local
    finally:
        local.down()


async def _committed(bootstrap: str, partitions: list[TopicPartition]) -> dict[int, int]:
    """The group's committed offsets, read without joining the group (no rebalance wait)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=GROUP, enable_auto_commit=False)
    await consumer.start()
    try:
        return {tp.partition: (await consumer.committed(tp)) or 0 for tp in partitions}
    finally:
        await consumer.stop()


async def _read_all(bootstrap: str, partitions: list[TopicPartition], want: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        got: list[bytes] = []
        for _ in range(30):
            batches = await consumer.getmany(timeout_ms=500)
            got += [record.value for records in batches.values() for record in records if record.value]
            if len(got) >= want:
                break
        return got
    finally:
        await consumer.stop()


async def test_a_killed_broker_comes_back_with_its_topics_records_and_offsets(durable: LocalInfrastructure) -> None:
    first = durable.up()
    assert first.objects is not None and first.objects.answering
    assert set(first.started) == {"kafka", "mongodb", "objects"}
    bootstrap = durable.kafka_bootstrap
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for n in range(20):
            await producer.send_and_wait(TOPIC, f"record-{n}".encode(), key=f"member-{n % 5}".encode())
    finally:
        await producer.stop()
    partitions = [TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)]
    committer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=GROUP, enable_auto_commit=False)
    await committer.start()
    try:
        committer.assign(partitions)
        await committer.commit({partitions[0]: 3, partitions[1]: 2})
    finally:
        await committer.stop()

    assert first.kafka.pid is not None
    os.kill(first.kafka.pid, signal.SIGKILL)  # no chance to flush anything
    again = durable.up()
    assert again.started == ("kafka",)  # the object store and MongoDB kept running
    assert again.kafka.pid != first.kafka.pid

    records = await _read_all(bootstrap, partitions, want=20)
    assert sorted(records) == sorted(f"record-{n}".encode() for n in range(20))
    assert await _committed(bootstrap, partitions) == {0: 3, 1: 2}


async def test_a_broker_in_memory_for_tests_runs_without_the_object_store(tmp_path: Path) -> None:
    local = LocalInfrastructure(
        tmp_path, kafka=("127.0.0.1", free_port()), mongodb=("127.0.0.1", free_port()), persistent=False
    )
    try:
        status = local.up()
        assert status.objects is None and status.healthy
        assert set(status.started) == {"kafka", "mongodb"}
    finally:
        local.down()
