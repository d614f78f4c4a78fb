"""Reading a topic from outside the platform: what the demo, the bench and the tests use to look."""

from __future__ import annotations

import time
from typing import Any

from aiokafka import AIOKafkaConsumer


async def read_records(bootstrap_servers: str, topic: str, *, at_least: int, within: float) -> list[Any]:
    """Every record on ``topic`` from the beginning, waiting up to ``within`` s for ``at_least`` of them.

    No consumer group and no commits: looking must not move anybody's offsets.
    """
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = time.monotonic() + within
        while len(records) < at_least and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            records += [record for part in batch.values() for record in part]
    finally:
        await consumer.stop()
    return records
