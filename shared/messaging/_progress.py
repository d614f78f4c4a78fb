"""Is a worker's consumer group still making progress? A watch from outside the consumer.

A consumer can get stuck in ways it does not notice itself: after a broker restart the local broker's
faust consumer failed its offset commits in a loop and never re-joined its group, while its
readiness (partitions assigned) still said yes. So the watch does not ask the consumer: it asks the
broker, with a client of its own, for the group's committed offsets. When none has moved for
``stall_seconds`` it reads each subscribed partition at its committed offset: a record there (one
that is waiting and not being handled) is a stall. Readiness then fails and the worker's process exits
(non-zero) for its supervisor to start it afresh. Uncommitted records are delivered again to the new
process (at least once; the handlers' claims make that harmless).

Why read rather than compare with the partitions' end offsets: the local broker's end offsets are
wrong (with its ``s3://`` engine they stop moving after the second record), reading is not. The read
happens only when the offsets stood still for the whole window, so an idle worker costs a committed
offset lookup per partition per check. A probe the broker does not answer restarts the window.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from shared.observability import get_logger

log = get_logger(__name__)

#: The exit code of a worker that stopped because its consumer stalled (EX_TEMPFAIL: try again).
EXIT_STALLED = 75
#: Until its consumer has been handed partitions once, a worker gets this many windows: joining the
#: group is slow when a whole stack starts on a busy machine (a CI run saw a worker's first join take
#: over 60 s while records waited, and it exited as stalled before it had consumed anything).
STARTUP_WINDOWS = 5


class ConsumerStalled(RuntimeError):
    """Readiness: records wait and the group's committed offsets have not moved."""


@dataclass
class Progress:
    """The verdict from a series of observations (pure: the watch feeds it, tests too)."""

    stall_seconds: float
    #: The window until the consumer has been handed partitions once (0: the same as ``stall_seconds``).
    startup_seconds: float = 0.0
    _consuming: bool = False
    _committed: dict[TopicPartition, int] = field(default_factory=dict)
    _activity: int = 0
    _since: float | None = None
    stalled: str | None = None

    def observe(
        self, committed: Mapping[TopicPartition, int], now: float, activity: int = 0, *, consuming: bool = True
    ) -> bool:
        """True when no committed offset moved for the window: time to look for waiting records.

        ``activity`` counts the worker's finished handler calls: a worker busy with slow records (a
        batch of screenshot analyses under load) commits late but is not stuck. ``consuming``: the
        consumer has partitions; before the first time it has, the window is ``startup_seconds``."""
        self._consuming = self._consuming or consuming
        window = self.stall_seconds if self._consuming else max(self.stall_seconds, self.startup_seconds)
        moved = committed != self._committed or activity != self._activity
        self._committed = dict(committed)
        self._activity = activity
        if moved or self._since is None:
            self._since = now
            self.stalled = None
            return False
        return now - self._since >= window

    def found(self, waiting: int, now: float) -> None:
        """What a read at the committed offsets found: ``waiting`` partitions with a record there."""
        if self._since is None:
            return
        if waiting:
            still = now - self._since
            self.stalled = f"records wait in {waiting} partition(s) and no offset was committed for {still:.0f}s"
        else:
            self._since = now  # idle, not stuck

    def unknown(self) -> None:
        """The broker did not answer: nothing can be told, and the consumer gets a fresh window after it."""
        self._since = None


class ProgressWatch:
    """Polls the broker every ``every`` seconds for ``group``'s progress on ``topics``; calls ``on_stall``
    once when it stalls."""

    def __init__(
        self,
        bootstrap_servers: str,
        group: str,
        topics: Sequence[str],
        *,
        stall_seconds: float,
        every: float,
        on_stall: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
        activity: Callable[[], int] = lambda: 0,
        consuming: Callable[[], bool] = lambda: True,
    ) -> None:
        self._bootstrap = bootstrap_servers
        self._activity = activity
        self._consuming = consuming
        self._group = group
        self._topics = list(topics)
        self._every = every
        self._on_stall = on_stall
        self._clock = clock
        self.progress = Progress(stall_seconds, startup_seconds=STARTUP_WINDOWS * stall_seconds)
        self._client: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def ready(self) -> None:
        if self.progress.stalled:
            raise ConsumerStalled(self.progress.stalled)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._close_client()

    async def check(self) -> None:
        """One observation."""
        try:
            await asyncio.wait_for(self._observe(), timeout=max(self._every, 10.0))
        except (KafkaError, OSError, TimeoutError) as exc:
            log.info("progress watch: broker did not answer", error=type(exc).__name__)
            self.progress.unknown()
            await self._close_client()  # a fresh client next time: the old one may hold a dead connection

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            await self.check()
            if self.progress.stalled:
                log.error("consumer stalled", group=self._group, reason=self.progress.stalled)
                self._on_stall(self.progress.stalled)
                return

    async def _observe(self) -> None:
        client = await self._connected()
        partitions = [
            TopicPartition(topic, partition)
            for topic in self._topics
            for partition in sorted(client.partitions_for_topic(topic) or await self._partitions(topic))
        ]
        committed = {tp: (await client.committed(tp)) or 0 for tp in partitions}
        if self.progress.observe(committed, self._clock(), self._activity(), consuming=self._consuming()):
            self.progress.found(await self._waiting(client, committed), self._clock())

    async def _waiting(self, client: AIOKafkaConsumer, committed: Mapping[TopicPartition, int]) -> int:
        """How many partitions hold a record at the group's committed offset."""
        client.assign(list(committed))
        for tp, offset in committed.items():
            client.seek(tp, offset)
        batches = await client.getmany(timeout_ms=1000, max_records=len(committed) * 10)
        return sum(1 for records in batches.values() if records)

    async def _connected(self) -> AIOKafkaConsumer:
        if self._client is None:
            # Never subscribes, so it never joins the group: it reads the group's committed offsets and
            # reads partitions by assignment, committing nothing.
            client = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, group_id=self._group, enable_auto_commit=False)
            await client.start()
            self._client = client
        return self._client

    async def _partitions(self, topic: str) -> set[int]:
        assert self._client is not None
        await self._client._client.force_metadata_update()  # aiokafka has no public refresh
        return self._client.partitions_for_topic(topic) or set()

    async def _close_client(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(KafkaError, OSError):
                await client.stop()
