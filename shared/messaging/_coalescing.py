from __future__ import annotations

import asyncio
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any, Protocol

import aiokafka.errors as kafka_errors
from aiokafka.client import AIOKafkaClient
from aiokafka.protocol.produce import ProduceRequest
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.structs import TopicPartition

# One request to the broker stays well under Kafka's default 1 MiB max.request.size; a single
# record larger than this still goes alone and the broker decides.
_MAX_BATCH_BYTES = 512 * 1024
_MAGIC_V2 = 2
_ACKS_ALL = -1


class ProduceClient(Protocol):
    """The slice of :class:`aiokafka.client.AIOKafkaClient` the producer uses (faked in unit tests)."""

    cluster: Any

    async def bootstrap(self) -> None: ...

    async def close(self) -> None: ...

    async def send(self, node_id: int, request: ProduceRequest) -> Any: ...

    def force_metadata_update(self) -> asyncio.Future[bool]: ...

    def add_topic(self, topic: str) -> asyncio.Future[bool]: ...


@dataclass(slots=True)
class _Pending:
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes | None]]
    deadline: float
    future: asyncio.Future[int]


@dataclass(slots=True)
class _Partition:
    queue: deque[_Pending] = field(default_factory=deque)
    in_flight: bool = False
    retry_at: float = 0.0


class CoalescingProducer:
    """``acks=all`` producer that batches whatever queued while the previous request was out.

    aiokafka's own producer wakes its sender task once per message and re-arms a wait over every
    in-flight request each time; at webhook rates that bookkeeping costs more CPU than the
    gateway's own work. This producer keeps aiokafka's client (connections, metadata, protocol
    versions, record encoding) and replaces only the accumulator and the sender: records wait in a
    queue per partition; with one request in flight per broker, everything that arrived meanwhile
    leaves in the next one, so batches grow with load instead of a linger timer adding latency.
    Each record's future resolves with its offset.

    Ordering per partition holds: one request in flight per partition, and a batch to retry goes
    back to the front of its queue. Retriable errors (leader moved, broker briefly unavailable,
    timeouts) are retried with backoff until the record's delivery deadline; anything else fails
    the records' futures with the broker's error.
    """

    def __init__(
        self,
        client: ProduceClient,
        *,
        delivery_timeout_s: float = 10.0,
        request_timeout_ms: int = 10_000,
        retry_backoff_s: float = 0.2,
    ) -> None:
        self._client = client
        self._delivery_timeout_s = delivery_timeout_s
        self._request_timeout_ms = request_timeout_ms
        self._retry_backoff_s = retry_backoff_s
        self._partitions: defaultdict[TopicPartition, _Partition] = defaultdict(_Partition)
        self._flush_scheduled = False
        self._requests: set[asyncio.Task[None]] = set()
        self._busy_leaders: set[int] = set()
        self._closed = False  # no new records
        self._stopped = False  # no new requests either

    @classmethod
    def for_servers(cls, bootstrap_servers: str, *, client_id: str, request_timeout_ms: int) -> CoalescingProducer:
        client = AIOKafkaClient(
            bootstrap_servers=bootstrap_servers, client_id=client_id, request_timeout_ms=request_timeout_ms
        )
        return cls(client, delivery_timeout_s=request_timeout_ms / 1000, request_timeout_ms=request_timeout_ms)

    async def start(self) -> None:
        await self._client.bootstrap()

    async def refresh_metadata(self) -> None:
        """Ask the cluster for fresh metadata; raises if no broker answers (a readiness probe)."""
        if not await self._client.force_metadata_update():
            raise kafka_errors.KafkaConnectionError("no broker answered a metadata request")

    async def partitions_for(self, topic: str) -> list[int]:
        """The topic's partitions, fetching metadata once if the client does not know the topic yet."""
        known = self._client.cluster.partitions_for_topic(topic)
        if not known:
            self._client.add_topic(topic)
            await self._client.force_metadata_update()
            known = self._client.cluster.partitions_for_topic(topic)
            if not known:
                raise kafka_errors.UnknownTopicOrPartitionError(topic)
        return sorted(known)

    def send(
        self, topic: str, partition: int, key: bytes | None, value: bytes, headers: list[tuple[str, bytes | None]]
    ) -> asyncio.Future[int]:
        """Queue one record; the future resolves with its offset once every in-sync replica has it."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        if self._closed:
            future.set_exception(kafka_errors.ProducerClosed())
            return future
        pending = _Pending(key, value, headers, loop.time() + self._delivery_timeout_s, future)
        self._partitions[TopicPartition(topic, partition)].queue.append(pending)
        self._schedule_flush(0.0)
        return future

    async def close(self, drain_timeout_s: float = 5.0) -> None:
        """Stop taking records, give queued ones a moment to land, then close the connections."""
        self._closed = True
        deadline = time.monotonic() + drain_timeout_s
        while self._requests or any(p.queue for p in self._partitions.values()):
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.01)
        self._stopped = True
        for task in list(self._requests):
            task.cancel()
        await asyncio.gather(*self._requests, return_exceptions=True)
        for state in self._partitions.values():
            while state.queue:
                pending = state.queue.popleft()
                if not pending.future.done():
                    pending.future.set_exception(kafka_errors.ProducerClosed())
        await self._client.close()

    def _schedule_flush(self, delay: float) -> None:
        if self._flush_scheduled:
            return
        self._flush_scheduled = True
        loop = asyncio.get_running_loop()
        if delay <= 0:
            loop.call_soon(self._flush)
        else:
            loop.call_later(delay, self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._stopped:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        by_leader: defaultdict[int, dict[TopicPartition, list[_Pending]]] = defaultdict(dict)
        next_retry: float | None = None
        for tp, state in self._partitions.items():
            if state.in_flight or not state.queue:
                continue
            self._expire(state, now)
            if not state.queue:
                continue
            if state.retry_at > now:
                next_retry = state.retry_at if next_retry is None else min(next_retry, state.retry_at)
                continue
            leader = self._client.cluster.leader_for_partition(tp)
            if leader is None or leader == -1:
                self._client.force_metadata_update()
                state.retry_at = now + self._retry_backoff_s
                next_retry = state.retry_at if next_retry is None else min(next_retry, state.retry_at)
                continue
            if leader in self._busy_leaders:
                continue
            by_leader[leader][tp] = self._take_batch(state)
            state.in_flight = True
        for leader, batches in by_leader.items():
            self._busy_leaders.add(leader)
            task = loop.create_task(self._produce(leader, batches))
            self._requests.add(task)
            task.add_done_callback(self._requests.discard)
        if next_retry is not None:
            self._schedule_flush(next_retry - now)

    @staticmethod
    def _expire(state: _Partition, now: float) -> None:
        while state.queue and (state.queue[0].deadline <= now or state.queue[0].future.done()):
            pending = state.queue.popleft()
            if not pending.future.done():
                pending.future.set_exception(kafka_errors.KafkaTimeoutError("record not delivered before its deadline"))

    @staticmethod
    def _take_batch(state: _Partition) -> list[_Pending]:
        batch: list[_Pending] = []
        size = 0
        while state.queue:
            pending = state.queue[0]
            record_size = len(pending.value) + len(pending.key or b"") + 64
            if batch and size + record_size > _MAX_BATCH_BYTES:
                break
            batch.append(state.queue.popleft())
            size += record_size
        return batch

    async def _produce(self, leader: int, batches: dict[TopicPartition, list[_Pending]]) -> None:
        retry: dict[TopicPartition, list[_Pending]] = {}
        try:
            request = self._request(batches)
            try:
                response = await self._client.send(leader, request)
            except kafka_errors.KafkaError as exc:
                if getattr(exc, "invalid_metadata", False):
                    self._client.force_metadata_update()
                for tp, batch in batches.items():
                    if exc.retriable:
                        retry[tp] = batch
                    else:
                        _fail(batch, exc)
            else:
                retry = self._settle(batches, response)
        except asyncio.CancelledError:  # closing: the callers must not wait for an answer nobody reads
            for batch in batches.values():
                _fail(batch, kafka_errors.ProducerClosed())
            raise
        except Exception as exc:  # never leave a caller waiting on a future nobody resolves
            for batch in batches.values():
                _fail(batch, exc)
        finally:
            self._busy_leaders.discard(leader)
            now = asyncio.get_running_loop().time()
            for tp in batches:
                state = self._partitions[tp]
                state.in_flight = False
                if tp in retry:
                    state.queue.extendleft(reversed(retry[tp]))
                    state.retry_at = now + self._retry_backoff_s
            if any(state.queue for state in self._partitions.values()):
                self._schedule_flush(self._retry_backoff_s if retry else 0.0)

    def _request(self, batches: dict[TopicPartition, list[_Pending]]) -> ProduceRequest:
        timestamp_ms = int(time.time() * 1000)
        topics: defaultdict[str, list[tuple[int, bytes]]] = defaultdict(list)
        for tp, batch in batches.items():
            builder = DefaultRecordBatchBuilder(_MAGIC_V2, 0, 0, -1, -1, -1, _MAX_BATCH_BYTES * 2)
            for offset, pending in enumerate(batch):
                builder.append(offset, timestamp_ms, pending.key, pending.value, pending.headers)
            topics[tp.topic].append((tp.partition, bytes(builder.build())))
        return ProduceRequest(None, _ACKS_ALL, self._request_timeout_ms, list(topics.items()))

    def _settle(
        self, batches: dict[TopicPartition, list[_Pending]], response: Any
    ) -> dict[TopicPartition, list[_Pending]]:
        retry: dict[TopicPartition, list[_Pending]] = {}
        answered: set[TopicPartition] = set()
        for topic, partitions in response.topics:
            for partition_info in partitions:
                partition, error_code, base_offset = partition_info[0], partition_info[1], partition_info[2]
                tp = TopicPartition(topic, partition)
                batch = batches.get(tp)
                if batch is None:
                    continue
                answered.add(tp)
                error = kafka_errors.for_code(error_code)
                if error is kafka_errors.NoError:
                    for index, pending in enumerate(batch):
                        if not pending.future.done():
                            pending.future.set_result(base_offset + index)
                    continue
                if getattr(error, "invalid_metadata", False):
                    self._client.force_metadata_update()
                if error.retriable:
                    retry[tp] = batch
                else:
                    _fail(batch, error())
        for tp, batch in batches.items():
            if tp not in answered:
                retry[tp] = batch
        return retry


def _fail(batch: list[_Pending], exc: BaseException) -> None:
    for pending in batch:
        if not pending.future.done():
            pending.future.set_exception(exc)
