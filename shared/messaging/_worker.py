from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Generic, TypeVar

import faust
from mode import Service

from shared.contracts import CATALOG, TOPICS
from shared.events import Envelope, EventCatalog, Message, Topic
from shared.messaging._admin import ensure_topics
from shared.messaging._dispatch import Delivery, dispatch, dispatch_batch
from shared.messaging._exceptions import PublishFailed
from shared.messaging._progress import EXIT_STALLED, ProgressWatch
from shared.messaging._publisher import to_record
from shared.messaging._retry import RetryPolicy
from shared.observability import EVENTS_PUBLISHED, HealthServer, ReadinessCheck, get_logger
from shared.settings import ServiceSettings

log = get_logger(__name__)

R = TypeVar("R")


@dataclass(frozen=True)
class Batching(Generic[R]):
    """Hand a subscription's records to ``handler`` many at a time, for writes that pay per round trip.

    The runner takes up to ``max_records`` records, waiting at most ``within`` seconds for more once
    it has one, so a quiet topic adds at most that much latency. The subscription's own handler stays
    the fallback that isolates a record a failed batch could not get past.
    """

    handler: Callable[[R, Sequence[tuple[Envelope, Message]]], Awaitable[None]]
    max_records: int = 500
    within: float = 0.05


@dataclass(frozen=True)
class Subscription(Generic[R]):
    """A handler for the envelopes on one topic.

    ``name`` identifies the consumer: it scopes its processed-event records and names it in the
    dead-letter topic. ``handler`` receives the service's resources (whatever its bootstrap yields),
    the envelope and the decoded, upcast message. With ``batch``, records arrive in batches instead,
    and ``handler`` only sees the records of a batch that failed.
    """

    name: str
    topic: Topic
    handler: Callable[[R, Envelope, Message], Awaitable[None]]
    batch: Batching[R] | None = None
    #: Handle the topic's partitions side by side (in order within each), as one replica per partition
    #: would: a slow record (a screenshot's OCR, say) then delays only its own partition's members.
    #: Only for handlers already safe under several replicas; not with ``batch``.
    partitions_in_parallel: bool = False


class FaustPublisher:
    """:class:`EventPublisher` over the worker's own producer (dead letters, downstream events)."""

    def __init__(self, app: faust.App, prefix: str) -> None:
        self._app = app
        self._prefix = prefix

    async def publish(self, topic: Topic, envelope: Envelope) -> None:
        record = to_record(topic, envelope, self._prefix)
        try:
            await self._app.producer.send_and_wait(
                record.topic, record.key, record.value, partition=None, timestamp=None, headers=record.headers
            )
        except Exception as exc:
            raise PublishFailed(f"{topic.name}: {type(exc).__name__}: {exc}") from exc
        EVENTS_PUBLISHED.labels(topic.name, envelope.type).inc()


class _InFlight:
    """The handler calls running now, each in its own task, so a stop or a rebalance that cannot wait
    for them can cancel them without cancelling the agent that runs them.

    A record is acknowledged to faust only when its handler returned. faust acks whatever an agent was
    given in a ``finally`` (on cancellation too), so records whose handler did not finish are marked
    as already acknowledged *without* telling the consumer: their offsets never become committable,
    and the next consumer of the partition gets them again (at least once; the handlers' claims make
    the redelivery harmless).
    """

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[object]] = set()
        #: Handler calls that finished: progress the progress watch counts even before a commit.
        self.finished = 0

    async def run(self, work: Coroutine[Any, Any, object], events: Sequence[Any]) -> bool:
        """Whether the handler finished (False: cancelled, its records withheld for redelivery)."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        try:
            await task
        except asyncio.CancelledError:
            _withhold(events)
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the agent itself is being stopped
            log.warning("handler cancelled, its records left for redelivery", records=len(events))
            return False
        except BaseException:
            _withhold(events)
            raise
        finally:
            self._tasks.discard(task)
        self.finished += 1
        return True

    def cancel(self) -> int:
        for task in self._tasks:
            task.cancel()
        return len(self._tasks)


def _withhold(events: Sequence[Any]) -> None:
    # faust's Message.ack() does nothing for a message marked acked, so its ``finally`` cannot commit
    # these; the consumer's own bookkeeping (Consumer.ack) is never told, which keeps the offset out
    # of what it commits, while its wait for unacked messages no longer waits for them.
    for event in events:
        event.message.acked = True


class _App(faust.App):
    """faust's app with a bounded wait for in-flight records when partitions are taken away (stop,
    rebalance): faust waits for them forever, so one stuck handler kept a worker from stopping or
    rebalancing. After the wait, the handlers still running are cancelled and their records withheld."""

    in_flight: _InFlight
    drain_seconds: float
    session_timeout: float

    async def _consumer_wait_empty(self, consumer: Any, logger: Any) -> None:
        # A rebalance must finish within the session, or the group moves on without this member.
        bound = self.drain_seconds if self.should_stop else min(self.drain_seconds, self.session_timeout / 2)
        # The wait itself cannot be cancelled (faust swallows CancelledError in it): cancelling the
        # handlers instead lets it end, since their records are then withheld, no longer awaited.
        watchdog = asyncio.get_running_loop().call_later(bound, self._give_up, bound)
        try:
            await super()._consumer_wait_empty(consumer, logger)
        finally:
            watchdog.cancel()

    def _give_up(self, waited: float) -> None:
        cancelled = self.in_flight.cancel()
        log.warning("records still in handlers after the drain; cancelled", handlers=cancelled, waited=waited)


class _Resources(Generic[R]):
    """What the service's bootstrap yielded, available to agents once the lifecycle opened it."""

    def __init__(self) -> None:
        self._value: R | None = None
        self._opened = asyncio.Event()

    def open(self, value: R) -> None:
        self._value = value
        self._opened.set()

    def close(self) -> None:
        self._value = None
        self._opened.clear()

    async def get(self) -> R:
        await self._opened.wait()
        assert self._value is not None
        return self._value


@dataclass
class WorkerApp(Generic[R]):
    """A faust app plus the service resources and health endpoint that live as long as it does."""

    app: faust.App
    lifecycle: Service
    publisher: FaustPublisher


class _Lifecycle(Service):
    """Opens the service's resources before the agents start and closes them after they stop."""

    def __init__(
        self,
        open_resources: Callable[[], AbstractAsyncContextManager[R]],
        holder: _Resources[R],
        readiness: Callable[[R], Mapping[str, ReadinessCheck]],
        service: str,
        health_host: str,
        health_port: int | None,
        bootstrap_servers: str,
        prefix: str,
        watch: ProgressWatch | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._watch = watch
        self._bootstrap_servers = bootstrap_servers
        self._prefix = prefix
        self._open = open_resources
        self._holder = holder
        self._readiness = readiness
        self._service = service
        self._health_host = health_host
        self._health_port = health_port
        self._stack = AsyncExitStack()

    async def on_start(self) -> None:
        # Consumers create the topics too: a worker may start before any producer has.
        await ensure_topics(self._bootstrap_servers, TOPICS, prefix=self._prefix)
        resources = await self._stack.enter_async_context(self._open())
        self._holder.open(resources)
        if self._health_port is not None:
            health = HealthServer(self._service, self._health_host, self._health_port, self._readiness(resources))
            await health.start()
            self._stack.push_async_callback(health.stop)
            log.info("health endpoint up", port=self._health_port)
        if self._watch is not None:
            self._watch.start()
            self._stack.push_async_callback(self._watch.stop)

    async def on_stop(self) -> None:
        await self._stack.aclose()
        self._holder.close()


def create_worker_app(
    settings: ServiceSettings,
    *,
    name: str,
    resources: Callable[[], AbstractAsyncContextManager[R]],
    subscriptions: Sequence[Subscription[R]],
    readiness: Callable[[R], Mapping[str, ReadinessCheck]] = lambda _: {},
    catalog: EventCatalog = CATALOG,
    retry: RetryPolicy = RetryPolicy(),
    health_host: str = "127.0.0.1",
    health_port: int | None = None,
) -> WorkerApp[R]:
    """A faust app bound to the topic registry: one agent per subscription, no hand-written loops.

    Offsets are committed only for records the agent has finished (faust acks after each step), so
    a crash redelivers what was in flight: at least once. Durable state belongs in MongoDB through
    idempotent handlers, never in faust tables (their changelog recovery is unreliable on the local
    broker). ``settings.topic_prefix`` also prefixes the consumer group, isolating test runs.
    """
    prefix = settings.topic_prefix
    # faust wants a data directory even with the memory store; keep it out of the working tree.
    datadir = Path(tempfile.gettempdir()) / "scrm-faust" / f"{prefix}{name}"
    datadir.mkdir(parents=True, exist_ok=True)
    app = _App(
        f"{prefix}{name}",
        broker=[f"kafka://{server.strip()}" for server in settings.kafka_bootstrap_servers.split(",")],
        store="memory://",
        datadir=str(datadir),
        value_serializer="raw",
        key_serializer="raw",
        web_enabled=False,
        autodiscover=False,
        topic_replication_factor=1,
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        broker_session_timeout=settings.kafka_session_timeout_seconds,
        broker_heartbeat_interval=settings.kafka_session_timeout_seconds / 5,
        broker_commit_interval=1.0,
        stream_wait_empty=True,
    )
    app.in_flight = _InFlight()
    app.drain_seconds = settings.worker_drain_seconds
    app.session_timeout = settings.kafka_session_timeout_seconds
    holder: _Resources[R] = _Resources()
    publisher = FaustPublisher(app, prefix)

    for subscription in subscriptions:
        _attach_agent(app, subscription, holder, catalog, retry, publisher, prefix)

    async def partitions_assigned() -> None:
        # Ready means consuming: the group has handed this worker its partitions.
        if not app.consumer.assignment():
            raise RuntimeError("no partitions assigned yet")

    watch = None
    if settings.worker_stall_seconds > 0:
        watch = ProgressWatch(
            settings.kafka_bootstrap_servers,
            app.conf.id,  # faust's consumer group
            sorted({subscription.topic.physical_name(prefix) for subscription in subscriptions}),
            stall_seconds=settings.worker_stall_seconds,
            every=settings.worker_progress_check_seconds,
            on_stall=exit_for_supervisor,
            activity=lambda: app.in_flight.finished,
            consuming=lambda: _has_partitions(app),
        )

    def all_checks(resources: R) -> Mapping[str, ReadinessCheck]:
        checks: dict[str, ReadinessCheck] = {"kafka": partitions_assigned}
        if watch is not None:
            checks["kafka_progress"] = watch.ready
        return {**checks, **readiness(resources)}

    lifecycle = _Lifecycle(
        resources,
        holder,
        all_checks,
        settings.service_name,
        health_host,
        health_port,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        prefix=prefix,
        watch=watch,
    )
    return WorkerApp(app=app, lifecycle=lifecycle, publisher=publisher)


def _has_partitions(app: faust.App) -> bool:
    """The consumer has been handed partitions (False while the app is still starting). Read without
    ``app.consumer``, which would create the consumer ahead of the app's own start."""
    consumer = getattr(app, "_consumer", None)
    return consumer is not None and bool(consumer.assignment())


def exit_for_supervisor(reason: str) -> None:
    """A stalled consumer is not repaired in place: the process ends (code 75) and its supervisor
    (``scrm up``, Kubernetes, systemd) starts a fresh one. No graceful stop: it would wait on the stuck
    consumer; uncommitted records are delivered again to the next process."""
    log.error("exiting for the supervisor to restart this worker", reason=reason, code=EXIT_STALLED)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_STALLED)


def _attach_agent(
    app: _App,
    subscription: Subscription[R],
    holder: _Resources[R],
    catalog: EventCatalog,
    retry: RetryPolicy,
    publisher: FaustPublisher,
    prefix: str,
) -> None:
    channel = app.topic(
        subscription.topic.physical_name(prefix),
        key_serializer="raw",
        value_serializer="raw",
        partitions=subscription.topic.partitions,
    )

    batching = subscription.batch

    async def consume_batches(stream: Any) -> None:
        assert batching is not None
        # take_events acks the batch when this body moves on; records not handled are withheld first.
        async for events in stream.take_events(batching.max_records, within=batching.within):
            deliveries = [_delivery(event.message) for event in events]
            resources = await holder.get()
            work = dispatch_batch(
                deliveries,
                consumer=subscription.name,
                batch_handler=partial(batching.handler, resources),
                handler=partial(subscription.handler, resources),
                catalog=catalog,
                deadletters=publisher,
                retry=retry,
            )
            await app.in_flight.run(work, events)

    async def consume(stream: Any) -> None:
        async for event in stream.events():
            delivery = _delivery(event.message)
            resources = await holder.get()  # opened before agents start
            work = dispatch(
                delivery,
                consumer=subscription.name,
                handler=partial(subscription.handler, resources),
                catalog=catalog,
                deadletters=publisher,
                retry=retry,
            )
            await app.in_flight.run(work, [event])

    async def consume_partitions(stream: Any) -> None:
        # Acked by hand once handled: faust commits only an unbroken run of acked offsets per
        # partition, so a later record finishing first never commits past an unfinished one.
        lanes = _Lanes(subscription.topic.partitions)
        try:
            async for event in stream.noack().events():
                lanes.raise_failure()
                delivery = _delivery(event.message)
                resources = await holder.get()
                work = dispatch(
                    delivery,
                    consumer=subscription.name,
                    handler=partial(subscription.handler, resources),
                    catalog=catalog,
                    deadletters=publisher,
                    retry=retry,
                )
                await lanes.add(event.message.partition, work, event, app.in_flight, stream)
            await lanes.join()
        finally:
            await lanes.close()

    agent_name = f"{subscription.name}.{subscription.topic.name}"
    if batching is not None:
        body: Callable[[Any], Awaitable[None]] = consume_batches
    elif subscription.partitions_in_parallel:
        body = consume_partitions
    else:
        body = consume
    app.agent(channel, name=agent_name)(body)


class _Lanes:
    """One chain of handler tasks per partition: records of a partition run one after another, in
    offset order; partitions run side by side, at most ``limit`` records in flight in all."""

    def __init__(self, limit: int) -> None:
        self._tails: dict[int, asyncio.Task[bool]] = {}
        self._room = asyncio.Semaphore(max(1, limit))
        self._failure: BaseException | None = None

    def raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    async def add(
        self, partition: int, work: Coroutine[Any, Any, object], event: Any, in_flight: _InFlight, stream: Any
    ) -> None:
        await self._room.acquire()
        previous = self._tails.get(partition)
        task = asyncio.ensure_future(self._run(previous, work, event, in_flight, stream))
        self._tails[partition] = task
        task.add_done_callback(lambda _: self._room.release())

    async def _run(
        self,
        previous: asyncio.Task[bool] | None,
        work: Coroutine[Any, Any, object],
        event: Any,
        in_flight: _InFlight,
        stream: Any,
    ) -> bool:
        try:
            handled_before = previous is None or await previous
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                work.close()
                _withhold([event])
                raise
            handled_before = False
        if not handled_before:
            # The record before it was not handled: this one waits for redelivery too, so the
            # partition's order holds.
            work.close()
            _withhold([event])
            return False
        try:
            done = await in_flight.run(work, [event])
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            log.error("handler failed; its partition stops here", error=f"{type(exc).__name__}: {exc}")
            self._failure = exc
            return False
        if done:
            await stream.ack(event)
        return done

    async def join(self) -> None:
        await asyncio.gather(*self._tails.values(), return_exceptions=True)
        self.raise_failure()

    async def close(self) -> None:
        pending = [task for task in self._tails.values() if not task.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def _delivery(record: Any) -> Delivery:
    return Delivery(record.topic, record.partition, record.offset, record.key, record.value)


def run_worker(worker: WorkerApp[Any], *, loglevel: str = "INFO") -> None:
    """Run until SIGTERM/SIGINT. Logging stays as :func:`configure_logging` set it."""
    faust_worker = faust.Worker(
        worker.app,
        worker.lifecycle,
        loglevel=loglevel,
        quiet=True,
        redirect_stdouts=False,
        override_logging=False,
    )
    faust_worker.execute_from_commandline()
