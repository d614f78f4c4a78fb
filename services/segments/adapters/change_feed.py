"""``profile.changed`` events, read by every API replica in full (no consumer group).

Each replica keeps its own index, so each must see every change: the feed assigns itself all
partitions of the topic and starts at their ends, taken *before* the index is built from MongoDB, so a
change that lands while the build reads is seen twice (harmless: the index re-reads the profile)
rather than not at all. Nothing is committed; a restarted replica rebuilds from MongoDB.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.contracts import CATALOG, PROFILE_CHANGES, ProfileChanged
from shared.events import Envelope, EventContractError

__all__ = ["ProfileChangeFeed"]

log = structlog.get_logger(__name__)


class ProfileChangeFeed:
    def __init__(self, bootstrap_servers: str, topic_prefix: str, client_id: str) -> None:
        self._topic = PROFILE_CHANGES.physical_name(topic_prefix)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            client_id=client_id,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
        )

    async def start(self) -> None:
        await self._consumer.start()
        partitions = self._consumer.partitions_for_topic(self._topic)
        if not partitions:
            await self._consumer.stop()
            raise RuntimeError(f"topic {self._topic} has no partitions (created at start-up)")
        assigned = [TopicPartition(self._topic, p) for p in sorted(partitions)]
        self._consumer.assign(assigned)
        await self._consumer.seek_to_end(*assigned)
        # Resolve the end offsets now: "latest" would otherwise be looked up at the first fetch.
        for partition in assigned:
            await self._consumer.position(partition)

    async def stop(self) -> None:
        await self._consumer.stop()

    async def next_batch(self, wait_ms: int = 500, most: int = 2_000) -> Sequence[tuple[str, str]]:
        """The members named by the next changes, deduplicated; empty after ``wait_ms`` of quiet."""
        fetched = await self._consumer.getmany(timeout_ms=wait_ms, max_records=most)
        members: set[tuple[str, str]] = set()
        for records in fetched.values():
            for record in records:
                try:
                    envelope = Envelope.from_bytes(record.value or b"")
                    message = CATALOG.decode(envelope)
                except EventContractError as exc:
                    log.warning("unreadable profile change skipped", error=str(exc), offset=record.offset)
                    continue
                if isinstance(message, ProfileChanged):
                    members.add((envelope.appid, message.openid))
        return sorted(members)
