"""A worker whose consumer group stops making progress is found out by the broker's answers, and the
worker process exits (code 75) for its supervisor to start it again."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from scrm_dev.launcher import ServiceProcess
from shared.contracts import TOPICS, WECHAT_PUSHES, MemberFollowed
from shared.events import Envelope
from shared.localinfra import LocalInfrastructure, free_port
from shared.messaging import KafkaEventPublisher, ensure_topics
from shared.messaging._progress import EXIT_STALLED, ConsumerStalled, ProgressWatch
from tests.conftest import Infra, Isolation, child_env, new_isolation

pytestmark = pytest.mark.integration


async def _publish(bootstrap: str, prefix: str, openids: list[str]) -> None:
    await ensure_topics(bootstrap, TOPICS, prefix=prefix)
    async with KafkaEventPublisher(bootstrap, topic_prefix=prefix) as publisher:
        for openid in openids:
            event = MemberFollowed(openid=openid, followed_at=datetime.now(UTC))
            await publisher.publish(WECHAT_PUSHES, Envelope.wrap(event, appid="wxprogress01", key=openid))


async def _commit(bootstrap: str, group: str, topic: str, *, to_end: bool) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        batches = await consumer.getmany(timeout_ms=2000)
        # Either everything read is committed (an idle group), or nothing (records wait).
        offsets = {tp: records[-1].offset + 1 for tp, records in batches.items() if records and to_end}
        if offsets:
            await consumer.commit(offsets)
    finally:
        await consumer.stop()


@pytest.mark.parametrize("caught_up", [False, True])
async def test_the_watch_tells_a_stuck_group_from_an_idle_one(
    infra: Infra, isolation: Isolation, caught_up: bool
) -> None:
    await _publish(infra.kafka, isolation.topic_prefix, ["o1", "o2", "o3"])
    topic = WECHAT_PUSHES.physical_name(isolation.topic_prefix)
    group = f"{isolation.topic_prefix}watched"
    await _commit(infra.kafka, group, topic, to_end=caught_up)
    stalls: list[str] = []
    watch = ProgressWatch(infra.kafka, group, [topic], stall_seconds=1, every=0.5, on_stall=stalls.append)
    try:
        await watch.check()
        await asyncio.sleep(1.1)
        await watch.check()
        if caught_up:
            await watch.ready()  # nothing waits: an idle worker is not a stalled one
        else:
            with pytest.raises(ConsumerStalled, match="records wait"):
                await watch.ready()
    finally:
        await watch.stop()


def test_a_worker_that_cannot_make_progress_exits_for_its_supervisor(tmp_path: Path) -> None:
    """Its MongoDB gone, the members worker retries its record without end and commits nothing."""
    own = LocalInfrastructure(
        tmp_path / "infra", kafka=("127.0.0.1", free_port()), mongodb=("127.0.0.1", free_port()), persistent=False
    )
    own.up()
    try:
        isolation = new_isolation("stall")
        env = child_env(Infra(own.kafka_bootstrap, own.mongodb_url), isolation) | {
            "WORKER_STALL_SECONDS": "3",
            "WORKER_PROGRESS_CHECK_SECONDS": "1",
        }
        worker = ServiceProcess("members-worker", free_port(), env, tmp_path / "members-worker.log")
        worker.start()
        try:
            worker.wait_ready()
            own.down(only=["mongodb"])
            asyncio.run(_publish(own.kafka_bootstrap, isolation.topic_prefix, ["o-stuck"]))
            deadline = time.monotonic() + 90
            while worker.running() and time.monotonic() < deadline:
                time.sleep(0.5)
            assert worker.returncode == EXIT_STALLED, worker.log_tail()
            assert "consumer stalled" in worker.log_tail(200)
        finally:
            worker.stop()
    finally:
        own.down()
