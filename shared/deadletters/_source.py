"""Reading the dead-letter topic from a stored position, without a consumer group (reading must not
move anybody's offsets) and without waiting for records that are not there yet."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from shared.messaging import MessagingError

__all__ = ["InMemoryParkedSource", "KafkaParkedSource", "ParkedRecord", "ParkedSource"]


@dataclass(frozen=True)
class ParkedRecord:
    partition: int
    offset: int
    value: bytes


class ParkedSource(Protocol):
    async def read(self, topic: str, partitions: int, positions: Mapping[int, int]) -> list[ParkedRecord]:
        """Every record of ``topic`` from ``positions`` (a partition missing: its beginning) to its end now."""
        ...


class InMemoryParkedSource:
    def __init__(self, records: Sequence[ParkedRecord] = ()) -> None:
        self.records = list(records)

    async def read(self, topic: str, partitions: int, positions: Mapping[int, int]) -> list[ParkedRecord]:
        return [r for r in self.records if r.offset >= positions.get(r.partition, 0)]


class KafkaParkedSource:
    def __init__(self, bootstrap_servers: str, *, within: float = 60.0) -> None:
        self._servers = bootstrap_servers
        self._within = within

    async def read(self, topic: str, partitions: int, positions: Mapping[int, int]) -> list[ParkedRecord]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._servers,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id="scrm-deadletter",
        )
        try:
            await consumer.start()
            assigned = [TopicPartition(topic, partition) for partition in range(partitions)]
            consumer.assign(assigned)
            for tp in assigned:
                if tp.partition in positions:
                    consumer.seek(tp, positions[tp.partition])
                else:
                    await consumer.seek_to_beginning(tp)
            ends: dict[TopicPartition, int] = await consumer.end_offsets(assigned)
            records: list[ParkedRecord] = []
            deadline = time.monotonic() + self._within
            while True:
                behind = [tp for tp in assigned if await consumer.position(tp) < ends[tp]]
                if not behind:
                    return records
                if time.monotonic() > deadline:
                    raise MessagingError(f"reading {topic} did not reach its end within {self._within:.0f} s")
                batch = await consumer.getmany(*behind, timeout_ms=1000)
                for tp, part in batch.items():
                    records += [
                        ParkedRecord(tp.partition, r.offset, r.value or b"") for r in part if r.offset < ends[tp]
                    ]
        except KafkaError as exc:
            raise MessagingError(f"cannot read {topic}: {type(exc).__name__}: {exc}") from exc
        finally:
            await consumer.stop()
