from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from shared.contracts import DEADLETTER, MessageDeadLettered
from shared.events import Envelope, EventCatalog, EventContractError, Message
from shared.messaging._exceptions import PermanentHandlerError
from shared.messaging._publisher import EventPublisher
from shared.messaging._retry import RetryPolicy
from shared.observability import EVENTS_CONSUMED, EVENTS_DEADLETTERED, HANDLER_SECONDS, get_logger
from shared.storage import is_transient

log = get_logger(__name__)

Handler = Callable[[Envelope, Message], Awaitable[None]]
BatchHandler = Callable[[Sequence[tuple[Envelope, Message]]], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]


class Outcome(StrEnum):
    PROCESSED = "processed"
    DEADLETTERED = "deadlettered"


@dataclass(frozen=True)
class Delivery:
    """One Kafka record as a consumer received it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


async def dispatch(
    delivery: Delivery,
    *,
    consumer: str,
    handler: Handler,
    catalog: EventCatalog,
    deadletters: EventPublisher,
    retry: RetryPolicy = RetryPolicy(),
    sleep: Sleep = asyncio.sleep,
) -> Outcome:
    """Handle one record with the platform's delivery policy; return once it may be acknowledged.

    - A record that breaks its contract (not an envelope, unknown type, invalid payload) is
      dead-lettered at once: retrying cannot fix it.
    - A handler failure is retried with exponential backoff, ``retry.attempts`` times in all, then
      dead-lettered with the last error as the reason. :class:`PermanentHandlerError` skips the retries.
    - Storage outages and transaction conflicts are waited out without limit: they are not the
      message's fault (a crashed worker's open transaction blocks its documents until it expires).
    - Dead-lettering itself is retried until the dead-letter topic takes the record: a record is only
      ever acknowledged once it has been handled or parked.
    """
    started = time.perf_counter()
    try:
        envelope = Envelope.from_bytes(delivery.value)
        message = catalog.decode(envelope)
    except EventContractError as exc:
        await _deadletter(delivery, consumer, f"contract: {exc}", 0, deadletters, retry, sleep)
        EVENTS_CONSUMED.labels(consumer, "unreadable", Outcome.DEADLETTERED).inc()
        return Outcome.DEADLETTERED

    attempt = 0
    waits = 0
    while True:
        attempt += 1
        try:
            await handler(envelope, message)
        except PermanentHandlerError as exc:
            reason = f"rejected: {exc}"
        except Exception as exc:
            if is_transient(exc):
                # An outage or a conflict is not the message's fault: it keeps all its attempts.
                waits += 1
                _storage_trouble(consumer, exc, waits)
                await sleep(retry.transient_delay(waits))
                attempt -= 1
                continue
            if attempt < retry.attempts:
                log.warning(
                    "handler failed, retrying",
                    consumer=consumer,
                    event_id=envelope.event_id,
                    attempt=attempt,
                    error=f"{type(exc).__name__}: {exc}",
                )
                await sleep(retry.delay(attempt))
                continue
            reason = f"failed after {attempt} attempts: {type(exc).__name__}: {exc}"
        else:
            HANDLER_SECONDS.labels(consumer).observe(time.perf_counter() - started)
            EVENTS_CONSUMED.labels(consumer, envelope.type, Outcome.PROCESSED).inc()
            return Outcome.PROCESSED
        await _deadletter(delivery, consumer, reason, attempt, deadletters, retry, sleep, envelope)
        EVENTS_CONSUMED.labels(consumer, envelope.type, Outcome.DEADLETTERED).inc()
        return Outcome.DEADLETTERED


def _storage_trouble(consumer: str, exc: BaseException, waits: int) -> None:
    # A conflict retried at once is routine; say so only when it lasts (and then not on every retry).
    if waits >= 4 and (waits & (waits - 1)) == 0:
        log.warning("storage busy or unavailable", consumer=consumer, error=type(exc).__name__, retries=waits)


async def dispatch_batch(
    deliveries: Sequence[Delivery],
    *,
    consumer: str,
    batch_handler: BatchHandler,
    handler: Handler,
    catalog: EventCatalog,
    deadletters: EventPublisher,
    retry: RetryPolicy = RetryPolicy(),
    sleep: Sleep = asyncio.sleep,
) -> list[Outcome]:
    """Handle records together (one transaction for many, say); return once all may be acknowledged.

    Records that break their contract are dead-lettered alone first. The rest go to ``batch_handler``
    in delivery order; storage outages and conflicts are waited out as in :func:`dispatch`. Any other
    failure does not condemn the whole batch: its records go through :func:`dispatch` one at a time
    with ``handler``, so only the record at fault is retried and parked. Handlers must therefore be
    idempotent across the two paths (a batch that failed wrote nothing, if it was one transaction).
    """
    started = time.perf_counter()
    outcomes: list[Outcome | None] = [None] * len(deliveries)
    decoded: list[tuple[int, Envelope, Message]] = []
    for index, delivery in enumerate(deliveries):
        try:
            envelope = Envelope.from_bytes(delivery.value)
            decoded.append((index, envelope, catalog.decode(envelope)))
        except EventContractError as exc:
            await _deadletter(delivery, consumer, f"contract: {exc}", 0, deadletters, retry, sleep)
            EVENTS_CONSUMED.labels(consumer, "unreadable", Outcome.DEADLETTERED).inc()
            outcomes[index] = Outcome.DEADLETTERED
    waits = 0
    while decoded:
        try:
            await batch_handler([(envelope, message) for _, envelope, message in decoded])
        except Exception as exc:
            if is_transient(exc):
                waits += 1
                _storage_trouble(consumer, exc, waits)
                await sleep(retry.transient_delay(waits))
                continue
            log.warning(
                "batch failed, handling its records one at a time",
                consumer=consumer,
                records=len(decoded),
                error=f"{type(exc).__name__}: {exc}",
            )
            for index, _, _ in decoded:
                outcomes[index] = await dispatch(
                    deliveries[index],
                    consumer=consumer,
                    handler=handler,
                    catalog=catalog,
                    deadletters=deadletters,
                    retry=retry,
                    sleep=sleep,
                )
        else:
            HANDLER_SECONDS.labels(consumer).observe(time.perf_counter() - started)
            for index, envelope, _ in decoded:
                EVENTS_CONSUMED.labels(consumer, envelope.type, Outcome.PROCESSED).inc()
                outcomes[index] = Outcome.PROCESSED
        break
    return [outcome for outcome in outcomes if outcome is not None]


async def _deadletter(
    delivery: Delivery,
    consumer: str,
    reason: str,
    attempts: int,
    deadletters: EventPublisher,
    retry: RetryPolicy,
    sleep: Sleep,
    envelope: Envelope | None = None,
) -> None:
    original_key = delivery.key.decode("utf-8", "replace") if delivery.key else None
    # Deterministic id: parking the same record twice (after a crash) is recognisably the same event.
    source = f"{consumer}|{delivery.topic}|{delivery.partition}|{delivery.offset}"
    parked = Envelope.wrap(
        MessageDeadLettered(
            consumer=consumer,
            source_topic=delivery.topic,
            partition=delivery.partition,
            offset=delivery.offset,
            reason=reason[:2000],
            attempts=attempts,
            failed_at=datetime.now(UTC),
            original=delivery.value.decode("utf-8", "replace"),
            original_key=original_key,
        ),
        appid=envelope.appid if envelope else "unknown",
        key=original_key or "unknown",
        event_id=hashlib.sha256(source.encode()).hexdigest()[:32],
    )
    log.error("dead-lettering", consumer=consumer, reason=reason, topic=delivery.topic, offset=delivery.offset)
    EVENTS_DEADLETTERED.labels(consumer, reason.split(":", 1)[0]).inc()
    failures = 0
    while True:
        try:
            await deadletters.publish(DEADLETTER, parked)
            return
        except Exception as exc:
            failures += 1
            log.error("dead-letter topic unavailable, retrying", error=str(exc), failures=failures)
            await sleep(retry.delay(failures))
