from __future__ import annotations

import struct
from collections import OrderedDict
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self

from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner

from shared.events import Envelope, Topic
from shared.messaging._coalescing import CoalescingProducer
from shared.messaging._exceptions import PublishFailed, TopicMismatch
from shared.observability import EVENTS_PUBLISHED


@dataclass(frozen=True)
class OutgoingRecord:
    """An envelope as a Kafka record: the one encoding every producer in the platform uses."""

    topic: str
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def to_record(topic: Topic, envelope: Envelope, prefix: str) -> OutgoingRecord:
    if not topic.carries(envelope.type):
        raise TopicMismatch(f"{envelope.type!r} does not belong on topic {topic.name!r}")
    return OutgoingRecord(
        topic=topic.physical_name(prefix),
        key=envelope.key.encode("utf-8"),
        value=envelope.to_bytes(),
        headers=[("event-type", envelope.type.encode()), ("event-version", str(envelope.version).encode())],
    )


_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def murmur2_words(data: bytes) -> int:
    """Kafka's murmur2 (the Java client's, as aiokafka's ``murmur2``), a 32-bit word at a time.

    aiokafka's version assembles each word from four indexed bytes and masks after every step; with
    every push from a new member the cache below rarely hits, and that loop was a visible part of a
    push's cost. Same result for every input (a test compares them).
    """
    length = len(data)
    h = 0x9747B28C ^ length
    for k in struct.unpack_from(f"<{length >> 2}I", data):
        k = (k * _M) & _MASK
        k = ((k ^ (k >> 24)) * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = length & 3
    if tail:
        end = length & ~3
        if tail == 3:
            h ^= data[end + 2] << 16
        if tail >= 2:
            h ^= data[end + 1] << 8
        h = ((h ^ data[end]) * _M) & _MASK
    h = ((h ^ (h >> 13)) * _M) & _MASK
    return h ^ (h >> 15)


_KEY_HASHES: OrderedDict[bytes, int] = OrderedDict()
_KEY_HASHES_MAX = 65_536


def _key_hash(key: bytes) -> int:
    """The key's positive murmur2, remembered for the most recent keys. An OrderedDict of ints rather
    than ``functools.lru_cache``, whose node per key the cyclic GC tracks: 65,536 of them, walked by
    every full collection of a process that publishes for many members."""
    cached = _KEY_HASHES.get(key)
    if cached is not None:
        _KEY_HASHES.move_to_end(key)
        return cached
    hashed = _KEY_HASHES[key] = murmur2_words(key) & 0x7FFFFFFF
    if len(_KEY_HASHES) > _KEY_HASHES_MAX:
        _KEY_HASHES.popitem(last=False)
    return hashed


def _partition(key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
    """aiokafka's default (Java-compatible murmur2) assignment, with the hash cached per key.

    The pure-Python murmur2 is a measurable part of a webhook's cost, and the same members push again
    and again; the partition a key maps to does not change.
    """
    if key is None:
        return int(DefaultPartitioner()(key, all_partitions, available))
    return all_partitions[_key_hash(key) % len(all_partitions)]


class EventPublisher(Protocol):
    """The port HTTP services publish through. Returns once the broker has the envelope durably."""

    async def publish(self, topic: Topic, envelope: Envelope) -> None: ...


class KafkaEventPublisher:
    """Publishes envelopes to Kafka with ``acks=all``, keyed by the envelope key.

    Sends through :class:`CoalescingProducer` (aiokafka's client, one request per loop turn) and
    partitions like aiokafka's default partitioner, so records land where any Kafka client would
    put them. No idempotent producer: the local broker does not support it (and consumers
    deduplicate by ``event_id`` anyway), so a retried send may duplicate a message but never loses one.
    """

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        topic_prefix: str = "",
        client_id: str = "scrm",
        request_timeout_ms: int = 10_000,
    ) -> None:
        self._prefix = topic_prefix
        self._producer = CoalescingProducer.for_servers(
            bootstrap_servers, client_id=client_id, request_timeout_ms=request_timeout_ms
        )
        self._partitions: dict[str, list[int]] = {}
        # A metric's labels() lookup costs more than its increment: keep the child per label set.
        self._published: dict[tuple[str, str], Any] = {}
        self._started = False

    async def start(self) -> None:
        try:
            await self._producer.start()
        except KafkaError as exc:
            await self._producer.close(drain_timeout_s=0)
            raise PublishFailed(f"cannot reach Kafka: {exc}") from exc
        self._started = True

    async def stop(self) -> None:
        if self._started:
            self._started = False
            await self._producer.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def publish(self, topic: Topic, envelope: Envelope) -> None:
        record = to_record(topic, envelope, self._prefix)
        if not self._started:
            raise PublishFailed("publisher is not started")
        try:
            partitions = self._partitions.get(record.topic)
            if partitions is None:
                partitions = self._partitions[record.topic] = await self._producer.partitions_for(record.topic)
            partition = _partition(record.key, partitions, partitions)
            await self._producer.send(record.topic, partition, record.key, record.value, list(record.headers))
        except KafkaError as exc:
            raise PublishFailed(f"{topic.name}: {type(exc).__name__}: {exc}") from exc
        counter = self._published.get((topic.name, envelope.type))
        if counter is None:
            counter = self._published[topic.name, envelope.type] = EVENTS_PUBLISHED.labels(topic.name, envelope.type)
        counter.inc()

    async def ready(self) -> None:
        """Readiness check: a broker answers a metadata request."""
        if not self._started:
            raise PublishFailed("publisher is not started")
        try:
            await self._producer.refresh_metadata()
        except KafkaError as exc:
            raise PublishFailed(f"cannot reach Kafka: {exc}") from exc
