"""A durable local outbox around the gateway's publisher: a broker outage does not shed the platform's pushes.

WeChat retries a push only three times within seconds, so while Kafka refuses or times out the gateway
would lose every follow of the outage. :class:`OutboxPublisher` wraps the real publisher (the same
:class:`EventPublisher` port, so the request path does not change): a publish that fails goes to an
append-only file instead, fsync'd before ``publish`` returns (so the push is answered ``success`` only
once it is on disk), and a background drainer publishes the file's records, in order, once the broker
answers again. While anything waits in the outbox every new publish joins the queue behind it, which
keeps each member's events in the order the platform sent them. A gateway restarted in between finds
its file and drains it at start-up.

Delivery stays at least once: a record whose publish succeeded but whose progress mark did not reach
the disk is published again (same event id; consumers deduplicate). The file is bounded
(``max_bytes``): when full, ``publish`` fails as before the outbox existed (503, the platform retries).

On disk (``directory``): ``outbox.log`` holds records (``>II`` length and CRC-32, then the topic name,
a newline and the envelope's JSON); ``outbox.done`` the byte offset drained so far (written atomically).
A torn record at the end (a crash mid-write, never acknowledged) is cut off at start-up. ``lock``
keeps a second process from using the same directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import struct
import zlib
from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from aiokafka.errors import KafkaError
from prometheus_client import Counter, Gauge

from shared.contracts import TOPICS
from shared.events import Envelope, Topic, TopicRegistry
from shared.messaging import (
    EventPublisher,
    KafkaEventPublisher,
    MessagingError,
    PublishFailed,
    TopicMismatch,
    connect_publisher,
)
from shared.observability import get_logger
from shared.settings import ServiceSettings

log = get_logger(__name__)

_HEADER = struct.Struct(">II")
_LOG = "outbox.log"
_DONE = "outbox.done"
_LOCK = "lock"

OUTBOX_RECORDS = Gauge("scrm_gateway_outbox_records", "Pushes waiting in the gateway's outbox for the broker")
OUTBOX_BYTES = Gauge("scrm_gateway_outbox_bytes", "Bytes of pushes waiting in the gateway's outbox")
OUTBOX_ALARM = Gauge("scrm_gateway_outbox_alarm", "1 while the outbox holds at least its alarm threshold")
OUTBOX_APPENDED = Counter("scrm_gateway_outbox_appended_total", "Pushes written to the outbox (broker down)")
OUTBOX_DRAINED = Counter("scrm_gateway_outbox_drained_total", "Outbox records published once the broker answered")


class OutboxFull(PublishFailed):
    """The outbox holds ``max_bytes`` already: the push is refused as if there were no outbox."""


class OutboxLocked(RuntimeError):
    """Another process uses this outbox directory."""


@dataclass
class _Entry:
    topic: Topic
    envelope: Envelope
    size: int
    #: Byte offset just past this record in ``outbox.log`` (known once written).
    end: int = 0


@dataclass
class _Loaded:
    entries: list[tuple[str, bytes, int, int]] = field(default_factory=list)  # topic, envelope, size, end
    cut: int = 0  # bytes of a torn tail cut off


def encode(topic: str, envelope: bytes) -> bytes:
    payload = topic.encode() + b"\n" + envelope
    return _HEADER.pack(len(payload), zlib.crc32(payload)) + payload


class OutboxFile:
    """The outbox's file operations (blocking: the publisher runs them in a thread)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._log: IO[bytes] | None = None
        self._lock: IO[bytes] | None = None
        self.size = 0

    def open(self) -> _Loaded:
        self.directory.mkdir(parents=True, exist_ok=True)
        lock = (self.directory / _LOCK).open("ab")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise OutboxLocked(f"another process uses the outbox in {self.directory}") from None
        self._lock = lock
        path = self.directory / _LOG
        data = path.read_bytes() if path.exists() else b""
        done = min(self._read_done(), len(data))
        loaded = _Loaded()
        position = done
        while position + _HEADER.size <= len(data):
            length, crc = _HEADER.unpack_from(data, position)
            start, end = position + _HEADER.size, position + _HEADER.size + length
            payload = data[start:end]
            if end > len(data) or zlib.crc32(payload) != crc:
                break
            topic, _, envelope = payload.partition(b"\n")
            loaded.entries.append((topic.decode(), envelope, end - position, end))
            position = end
        if position < len(data):
            loaded.cut = len(data) - position
        self._log = path.open("ab")
        self._log.truncate(position)  # a torn tail was never acknowledged: cut it off
        self.size = position
        if not loaded.entries:
            self.compact()
        return loaded

    def append(self, records: Iterable[bytes]) -> list[int]:
        """Write ``records`` and fsync; the offset just past each."""
        assert self._log is not None
        ends = []
        for record in records:
            self._log.write(record)
            self.size += len(record)
            ends.append(self.size)
        self._log.flush()
        os.fsync(self._log.fileno())
        return ends

    def mark_done(self, offset: int) -> None:
        done = self.directory / _DONE
        partial = done.with_suffix(".tmp")
        with partial.open("wb") as file:
            file.write(str(offset).encode())
            file.flush()
            os.fsync(file.fileno())
        partial.replace(done)
        _fsync_directory(self.directory)

    def compact(self) -> None:
        """Everything is drained: start the file afresh (progress mark first, then the records)."""
        assert self._log is not None
        self.mark_done(0)
        self._log.truncate(0)
        self._log.flush()
        os.fsync(self._log.fileno())
        self.size = 0

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def _read_done(self) -> int:
        try:
            return int((self.directory / _DONE).read_text().strip() or 0)
        except (OSError, ValueError):
            return 0


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _expire(task: asyncio.Task[object], expired: list[bool]) -> None:
    expired.append(True)
    task.cancel()


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class OutboxPublisher:
    """:class:`EventPublisher` that never sheds a push while its outbox has room (see the module)."""

    def __init__(
        self,
        inner: EventPublisher,
        directory: Path,
        *,
        max_bytes: int,
        alarm_bytes: int,
        publish_timeout: float,
        retry_every: float = 1.0,
        batch: int = 200,
        topics: TopicRegistry = TOPICS,
    ) -> None:
        self._inner = inner
        self._file = OutboxFile(directory)
        self._max_bytes = max_bytes
        self._alarm_bytes = alarm_bytes
        self._timeout = publish_timeout
        self._retry_every = retry_every
        self._batch = batch
        self._topics = topics
        #: Records accepted but not yet drained, oldest first (being written, or written and waiting).
        self._waiting: deque[_Entry] = deque()
        self._to_write: list[tuple[_Entry, bytes, asyncio.Future[None]]] = []
        self._bytes = 0
        self._alarmed = False
        #: A push was refused for want of room since the last drain.
        self._full = False
        self._wrote = asyncio.Event()
        self._write_wanted = asyncio.Event()
        self._io = asyncio.Lock()  # one file operation at a time (writer, drainer, compaction)
        #: Members with a push being published or kept: one member's pushes take turns (a later one
        #: waits until the earlier one is published or kept), so their order holds. None while nobody
        #: waits behind it; a lock per push would cost more than everything else the outbox does.
        self._turns: dict[str, deque[asyncio.Future[None]] | None] = {}
        self._writer: asyncio.Task[None] | None = None
        self._drainer: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def waiting_bytes(self) -> int:
        return self._bytes

    async def start(self) -> None:
        loaded = await asyncio.to_thread(self._file.open)
        if loaded.cut:
            log.warning("outbox: cut off a torn record at the end", bytes=loaded.cut)
        for topic, envelope, size, end in loaded.entries:
            self._waiting.append(_Entry(self._topics.get(topic), Envelope.from_bytes(envelope), size, end))
            self._bytes += size
        if loaded.entries:
            log.warning("outbox: pushes from before the restart wait for the broker", records=len(loaded.entries))
        self._measure()
        self._writer = asyncio.create_task(self._write_loop())
        self._drainer = asyncio.create_task(self._drain_loop())

    async def stop(self) -> None:
        """Stop the drainer, let the writer finish what was handed to it; what waits stays on disk."""
        await _cancel(self._drainer)
        for _ in range(500):  # pushes being written are answered only once on disk: let them finish
            if not self._to_write and not self._io.locked():
                break
            await asyncio.sleep(0.01)
        await _cancel(self._writer)
        self._writer = self._drainer = None
        for _, _, done in self._to_write:
            if not done.done():
                done.set_exception(PublishFailed("the gateway is stopping"))
        self._to_write.clear()
        async with self._io:
            await asyncio.to_thread(self._file.close)

    async def publish(self, topic: Topic, envelope: Envelope) -> None:
        if not topic.carries(envelope.type):
            raise TopicMismatch(f"{envelope.type!r} does not belong on topic {topic.name!r}")
        key = envelope.key
        if key in self._turns:
            await self._wait_turn(key)
        else:
            self._turns[key] = None
        try:
            await self._publish(topic, envelope)
        finally:
            self._pass_turn(key)

    async def _wait_turn(self, key: str) -> None:
        waiting = self._turns[key]
        if waiting is None:
            waiting = self._turns[key] = deque()
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        waiting.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # given the turn just as it was cancelled: pass it on
                self._pass_turn(key)
            raise

    def _pass_turn(self, key: str) -> None:
        waiting = self._turns[key]
        while waiting:
            turn = waiting.popleft()
            if not turn.done():  # a cancelled waiter's turn is skipped
                turn.set_result(None)
                return
        del self._turns[key]

    async def _publish(self, topic: Topic, envelope: Envelope) -> None:
        if not self._waiting:
            try:
                await self._publish_in_time(topic, envelope)
                return
            except (PublishFailed, TimeoutError) as exc:
                log.warning("broker refused a push; keeping it in the outbox", error=type(exc).__name__)
        await self._append(topic, envelope)

    async def _publish_in_time(self, topic: Topic, envelope: Envelope) -> None:
        """The inner publish, or TimeoutError after ``publish_timeout``: what ``asyncio.timeout`` does,
        with one timer handle and no context object (a third of the outbox's cost per push)."""
        task = asyncio.current_task()
        assert task is not None
        cancelling = task.cancelling()
        expired: list[bool] = []
        timer = asyncio.get_running_loop().call_later(self._timeout, _expire, task, expired)
        try:
            await self._inner.publish(topic, envelope)
        except asyncio.CancelledError:
            if expired and task.uncancel() <= cancelling:
                raise TimeoutError from None
            raise
        finally:
            timer.cancel()

    async def ready(self) -> None:
        """Readiness: pushes can be taken (the broker answers, or the outbox has room for them)."""
        if self._full:
            raise OutboxFull(f"outbox full ({self._bytes} bytes) and the broker has not taken them")

    async def _append(self, topic: Topic, envelope: Envelope) -> None:
        record = encode(topic.name, envelope.to_bytes())
        if self._bytes + len(record) > self._max_bytes:
            self._full = True
            raise OutboxFull(f"outbox full ({self._bytes} of {self._max_bytes} bytes): push refused")
        entry = _Entry(topic, envelope, len(record))
        self._waiting.append(entry)
        self._bytes += entry.size
        OUTBOX_APPENDED.inc()
        self._measure()
        written: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._to_write.append((entry, record, written))
        self._write_wanted.set()
        await written

    async def _write_loop(self) -> None:
        """Group commit: every record that arrived while the last fsync ran goes in the next one."""
        while True:
            await self._write_wanted.wait()
            self._write_wanted.clear()
            batch, self._to_write = self._to_write, []
            if not batch:
                continue
            try:
                async with self._io:
                    ends = await asyncio.to_thread(self._file.append, [record for _, record, _ in batch])
            except OSError as exc:
                log.error("outbox: write failed; pushes refused", error=str(exc))
                for entry, _, written in batch:
                    self._forget(entry)
                    if not written.done():
                        written.set_exception(PublishFailed(f"outbox write failed: {exc}"))
                continue
            for (entry, _, written), end in zip(batch, ends, strict=True):
                entry.end = end
                if not written.done():
                    written.set_result(None)
            self._wrote.set()

    def _forget(self, entry: _Entry) -> None:
        with contextlib.suppress(ValueError):
            self._waiting.remove(entry)
            self._bytes -= entry.size
        self._measure()

    async def _drain_loop(self) -> None:
        while True:
            self._wrote.clear()  # before looking: a write finishing while we compact wakes us
            batch = self._next_batch()
            if not batch:
                if not self._waiting and not self._to_write:
                    await self._compact()
                await self._wrote.wait()
                continue
            published = await self._publish_in_order(batch)
            if published:
                async with self._io:
                    await asyncio.to_thread(self._file.mark_done, batch[published - 1].end)
                for _ in range(published):
                    entry = self._waiting.popleft()
                    self._bytes -= entry.size
                OUTBOX_DRAINED.inc(published)
                self._full = False
                self._measure()
                if not self._waiting:
                    log.info("outbox drained: the broker took every waiting push")
            if published < len(batch):
                await asyncio.sleep(self._retry_every)

    def _next_batch(self) -> list[_Entry]:
        """The oldest written records, at most one per member: publishing a batch at once keeps each
        member's order even when part of it fails."""
        batch: list[_Entry] = []
        keys: set[str] = set()
        for entry in self._waiting:
            if not entry.end or entry.envelope.key in keys or len(batch) >= self._batch:
                break
            keys.add(entry.envelope.key)
            batch.append(entry)
        return batch

    async def _publish_in_order(self, batch: list[_Entry]) -> int:
        """How many of ``batch``'s first records the broker took (those after a failure are sent again)."""

        async def one(entry: _Entry) -> None:
            await asyncio.wait_for(self._inner.publish(entry.topic, entry.envelope), self._timeout)

        results = await asyncio.gather(*(one(entry) for entry in batch), return_exceptions=True)
        for index, result in enumerate(results):
            if isinstance(result, BaseException):
                if not isinstance(result, PublishFailed | TimeoutError):
                    log.error("outbox: a record cannot be published", error=repr(result))
                return index
        return len(batch)

    async def _compact(self) -> None:
        async with self._io:
            if not self._waiting and not self._to_write and self._file.size:
                await asyncio.to_thread(self._file.compact)

    def _measure(self) -> None:
        OUTBOX_RECORDS.set(len(self._waiting))
        OUTBOX_BYTES.set(self._bytes)
        alarmed = self._bytes >= self._alarm_bytes
        OUTBOX_ALARM.set(1 if alarmed else 0)
        if alarmed != self._alarmed:
            self._alarmed = alarmed
            if alarmed:
                log.error("outbox above its alarm threshold: the broker has been away", bytes=self._bytes)
            else:
                log.info("outbox back below its alarm threshold", bytes=self._bytes)


@contextlib.asynccontextmanager
async def open_outbox(
    inner: EventPublisher,
    base: Path,
    *,
    max_bytes: int,
    alarm_bytes: int,
    publish_timeout: float,
    slots: int = 16,
) -> AsyncIterator[OutboxPublisher]:
    """The outbox in the first slot (``base/0``, ``base/1``...) no other process holds, started (it
    drains what an earlier process left there) and stopped on exit."""
    for slot in range(slots):
        outbox = OutboxPublisher(
            inner, base / str(slot), max_bytes=max_bytes, alarm_bytes=alarm_bytes, publish_timeout=publish_timeout
        )
        try:
            await outbox.start()
        except OutboxLocked:
            continue
        try:
            yield outbox
        finally:
            await outbox.stop()
        return
    raise OutboxLocked(f"all {slots} outbox slots under {base} are held by other processes")


class LatePublisher:
    """The Kafka publisher, opened in the background: a gateway with an outbox starts (and takes pushes)
    while the broker is away, and publishes once it has reached it. Until then ``publish`` fails, so
    pushes go to the outbox."""

    def __init__(self, settings: ServiceSettings, topics: TopicRegistry = TOPICS, retry_every: float = 2.0) -> None:
        self._settings = settings
        self._topics = topics
        self._retry_every = retry_every
        self._stack = contextlib.AsyncExitStack()
        self._inner: KafkaEventPublisher | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        try:
            await self._connect()
        except (MessagingError, KafkaError, OSError) as exc:
            log.warning("broker not reachable at start-up; taking pushes into the outbox", error=str(exc))
            self._task = asyncio.create_task(self._keep_trying())

    async def stop(self) -> None:
        await _cancel(self._task)
        await self._stack.aclose()
        self._inner = None

    async def publish(self, topic: Topic, envelope: Envelope) -> None:
        if self._inner is None:
            raise PublishFailed("the broker has not been reached since start-up")
        await self._inner.publish(topic, envelope)

    async def ready(self) -> None:
        if self._inner is None:
            raise PublishFailed("the broker has not been reached since start-up")
        await self._inner.ready()

    async def _connect(self) -> None:
        self._inner = await self._stack.enter_async_context(connect_publisher(self._settings, self._topics))

    async def _keep_trying(self) -> None:
        while self._inner is None:
            await asyncio.sleep(self._retry_every)
            try:
                await self._connect()
            except (MessagingError, KafkaError, OSError):
                continue
            log.info("broker reached: publishing")


@contextlib.asynccontextmanager
async def late_publisher(settings: ServiceSettings) -> AsyncIterator[LatePublisher]:
    publisher = LatePublisher(settings)
    await publisher.start()
    try:
        yield publisher
    finally:
        await publisher.stop()
