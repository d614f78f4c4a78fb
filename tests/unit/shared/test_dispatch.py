"""The consumer runner's delivery policy, with a fake dead-letter publisher and a recorded sleep."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from pymongo.errors import OperationFailure

from shared.contracts import CATALOG, DEADLETTER, MemberFollowed, MessageDeadLettered
from shared.events import Envelope, Message
from shared.messaging import Delivery, Outcome, PermanentHandlerError, RetryPolicy, dispatch, dispatch_batch
from shared.storage import StorageConflict, StorageError, StorageUnavailable, is_transient
from tests.fakes.publisher import FakePublisher

AT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
POLICY = RetryPolicy(attempts=3, initial_delay=0.1, max_delay=1.0)


def delivery(value: bytes, offset: int = 7) -> Delivery:
    return Delivery(topic="t.wechat.pushes", partition=2, offset=offset, key=b"o1", value=value)


def follow_bytes() -> bytes:
    event = MemberFollowed(openid="o1", followed_at=AT)
    return Envelope.wrap(event, appid="wx1", key="o1", event_id="e1").to_bytes()


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


class FlakyHandler:
    def __init__(self, failures: int, error: Exception) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0
        self.seen: list[Message] = []

    async def __call__(self, envelope: Envelope, message: Message) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        self.seen.append(message)


def parked(publisher: FakePublisher) -> MessageDeadLettered:
    assert len(publisher.published) == 1
    topic, envelope = publisher.published[0]
    assert topic is DEADLETTER
    message = CATALOG.decode(envelope)
    assert isinstance(message, MessageDeadLettered)
    return message


async def run(handler: FlakyHandler, value: bytes, publisher: FakePublisher, sleeps: Sleeps) -> Outcome:
    return await dispatch(
        delivery(value),
        consumer="members",
        handler=handler,
        catalog=CATALOG,
        deadletters=publisher,
        retry=POLICY,
        sleep=sleeps,
    )


async def test_decoded_message_reaches_the_handler() -> None:
    handler, publisher, sleeps = FlakyHandler(0, RuntimeError()), FakePublisher(), Sleeps()
    assert await run(handler, follow_bytes(), publisher, sleeps) is Outcome.PROCESSED
    assert handler.seen == [MemberFollowed(openid="o1", followed_at=AT)]
    assert publisher.published == [] and sleeps.calls == []


async def test_transient_handler_failures_are_retried_with_backoff() -> None:
    handler, publisher, sleeps = FlakyHandler(2, RuntimeError("boom")), FakePublisher(), Sleeps()
    assert await run(handler, follow_bytes(), publisher, sleeps) is Outcome.PROCESSED
    assert handler.calls == 3
    assert sleeps.calls == [0.1, 0.2]
    assert publisher.published == []


async def test_exhausted_retries_dead_letter_with_the_reason() -> None:
    handler, publisher, sleeps = FlakyHandler(99, RuntimeError("boom")), FakePublisher(), Sleeps()
    assert await run(handler, follow_bytes(), publisher, sleeps) is Outcome.DEADLETTERED
    assert handler.calls == POLICY.attempts
    message = parked(publisher)
    assert message.reason == "failed after 3 attempts: RuntimeError: boom"
    assert (message.consumer, message.source_topic, message.partition, message.offset) == (
        "members",
        "t.wechat.pushes",
        2,
        7,
    )
    assert Envelope.from_bytes(message.original.encode()).event_id == "e1"


async def test_permanent_errors_skip_the_retries() -> None:
    handler, publisher, sleeps = (
        FlakyHandler(99, PermanentHandlerError("bad scene")),
        FakePublisher(),
        Sleeps(),
    )
    assert await run(handler, follow_bytes(), publisher, sleeps) is Outcome.DEADLETTERED
    assert handler.calls == 1 and sleeps.calls == []
    assert parked(publisher).reason == "rejected: bad scene"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"{not an envelope", "contract: "),
        (Envelope(type="nope", version=1, appid="a", key="k", payload={}).to_bytes(), "contract: unknown"),
        (
            Envelope(type="member.followed", version=1, appid="a", key="k", payload={"openid": 1}).to_bytes(),
            "contract: member.followed v1",
        ),
    ],
)
async def test_contract_violations_are_dead_lettered_at_once(value: bytes, reason: str) -> None:
    handler, publisher, sleeps = FlakyHandler(0, RuntimeError()), FakePublisher(), Sleeps()
    assert await run(handler, value, publisher, sleeps) is Outcome.DEADLETTERED
    assert handler.calls == 0
    message = parked(publisher)
    assert message.reason.startswith(reason)
    assert message.original == value.decode("utf-8", "replace")


async def test_storage_outages_do_not_use_up_attempts() -> None:
    handler, publisher, sleeps = FlakyHandler(10, StorageUnavailable("down")), FakePublisher(), Sleeps()
    assert await run(handler, follow_bytes(), publisher, sleeps) is Outcome.PROCESSED
    assert handler.calls == 11
    # Quick at first (a conflict clears in milliseconds), then up to the policy's longest wait.
    steps = [min(POLICY.max_delay, POLICY.transient_initial_delay * 2**n) for n in range(10)]
    assert all(step / 2 <= slept <= step for slept, step in zip(sleeps.calls, steps, strict=True))
    assert sleeps.calls[0] <= 0.02 and sleeps.calls[-1] >= POLICY.max_delay / 2
    assert publisher.published == []


async def test_transaction_conflicts_are_waited_out() -> None:
    conflict = OperationFailure("WriteConflict", code=112, details={"errorLabels": ["TransientTransactionError"]})
    handler, publisher, sleeps = FlakyHandler(8, conflict), FakePublisher(), Sleeps()
    assert await run(handler, follow_bytes(), publisher, sleeps) is Outcome.PROCESSED
    assert handler.calls == 9 and publisher.published == []


async def test_wrapped_conflicts_count_as_transient_too() -> None:
    try:
        try:
            raise OperationFailure("WriteConflict", code=112, details={"errorLabels": ["TransientTransactionError"]})
        except OperationFailure as inner:
            raise StorageError("wrapped") from inner
    except StorageError as outer:
        assert is_transient(outer)
    assert not is_transient(StorageError("a bad write"))
    assert is_transient(StorageConflict("busy"))


async def test_dead_lettering_is_retried_until_the_topic_takes_it() -> None:
    handler, publisher, sleeps = FlakyHandler(0, RuntimeError()), FakePublisher(failures=2), Sleeps()
    assert await run(handler, b"garbage", publisher, sleeps) is Outcome.DEADLETTERED
    assert len(publisher.published) == 1
    assert len(sleeps.calls) == 2


async def test_parking_the_same_record_twice_gives_the_same_event_id() -> None:
    first, second = FakePublisher(), FakePublisher()
    for publisher in (first, second):
        await run(FlakyHandler(0, RuntimeError()), b"garbage", publisher, Sleeps())
    assert first.published[0][1].event_id == second.published[0][1].event_id


def test_retry_delays_grow_and_cap() -> None:
    policy = RetryPolicy(attempts=6, initial_delay=0.5, max_delay=3.0, multiplier=2.0)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def follow_of(openid: str, offset: int) -> Delivery:
    event = MemberFollowed(openid=openid, followed_at=AT)
    value = Envelope.wrap(event, appid="wx1", key=openid, event_id=f"e-{openid}").to_bytes()
    return Delivery(topic="t.wechat.pushes", partition=0, offset=offset, key=openid.encode(), value=value)


class BatchRecorder:
    """A batch handler that fails ``failures`` times with ``error``, then records what it got."""

    def __init__(self, failures: int = 0, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or RuntimeError("batch broke")
        self.calls = 0
        self.batches: list[list[str]] = []

    async def __call__(self, batch: Sequence[tuple[Envelope, Message]]) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        self.batches.append([envelope.event_id for envelope, _ in batch])


class PoisonHandler:
    """Fails, every time, for one openid only."""

    def __init__(self, poison: str, error: Exception) -> None:
        self.poison = poison
        self.error = error
        self.handled: list[str] = []

    async def __call__(self, envelope: Envelope, message: Message) -> None:
        assert isinstance(message, MemberFollowed)
        if message.openid == self.poison:
            raise self.error
        self.handled.append(message.openid)


async def run_batch(
    deliveries: list[Delivery], batch: BatchRecorder, single: PoisonHandler, publisher: FakePublisher, sleeps: Sleeps
) -> list[Outcome]:
    return await dispatch_batch(
        deliveries,
        consumer="profiles",
        batch_handler=batch,
        handler=single,
        catalog=CATALOG,
        deadletters=publisher,
        retry=POLICY,
        sleep=sleeps,
    )


async def test_a_batch_reaches_its_handler_in_one_call_in_delivery_order() -> None:
    deliveries = [follow_of(f"o{n}", n) for n in range(5)]
    batch, single, publisher, sleeps = BatchRecorder(), PoisonHandler("none", RuntimeError()), FakePublisher(), Sleeps()
    outcomes = await run_batch(deliveries, batch, single, publisher, sleeps)
    assert outcomes == [Outcome.PROCESSED] * 5
    assert batch.batches == [[f"e-o{n}" for n in range(5)]]
    assert single.handled == [] and publisher.published == [] and sleeps.calls == []


async def test_unreadable_records_are_parked_alone_and_the_rest_still_go_as_a_batch() -> None:
    deliveries = [follow_of("o1", 1), delivery(b"{garbage", offset=2), follow_of("o3", 3)]
    batch, single, publisher, sleeps = BatchRecorder(), PoisonHandler("none", RuntimeError()), FakePublisher(), Sleeps()
    outcomes = await run_batch(deliveries, batch, single, publisher, sleeps)
    assert outcomes == [Outcome.PROCESSED, Outcome.DEADLETTERED, Outcome.PROCESSED]
    assert batch.batches == [["e-o1", "e-o3"]]
    assert parked(publisher).offset == 2


async def test_storage_trouble_retries_the_whole_batch() -> None:
    deliveries = [follow_of(f"o{n}", n) for n in range(3)]
    batch = BatchRecorder(failures=4, error=StorageConflict("busy"))
    single, publisher, sleeps = PoisonHandler("none", RuntimeError()), FakePublisher(), Sleeps()
    assert await run_batch(deliveries, batch, single, publisher, sleeps) == [Outcome.PROCESSED] * 3
    assert batch.calls == 5 and len(batch.batches) == 1
    assert len(sleeps.calls) == 4 and max(sleeps.calls) <= 0.16 and single.handled == []


async def test_a_failed_batch_falls_back_to_one_at_a_time_and_parks_only_the_record_at_fault() -> None:
    deliveries = [follow_of(f"o{n}", n) for n in range(4)]
    batch = BatchRecorder(failures=99, error=PermanentHandlerError("category dropped"))
    single = PoisonHandler("o2", PermanentHandlerError("category dropped"))
    publisher, sleeps = FakePublisher(), Sleeps()
    outcomes = await run_batch(deliveries, batch, single, publisher, sleeps)
    assert outcomes == [Outcome.PROCESSED, Outcome.PROCESSED, Outcome.DEADLETTERED, Outcome.PROCESSED]
    assert batch.calls == 1  # a failed batch is not retried as a batch
    assert single.handled == ["o0", "o1", "o3"]
    message = parked(publisher)
    assert (message.offset, message.reason) == (2, "rejected: category dropped")


async def test_an_empty_or_all_unreadable_batch_never_calls_the_handler() -> None:
    batch, single, publisher, sleeps = BatchRecorder(), PoisonHandler("none", RuntimeError()), FakePublisher(), Sleeps()
    assert await run_batch([], batch, single, publisher, sleeps) == []
    assert await run_batch([delivery(b"x")], batch, single, publisher, sleeps) == [Outcome.DEADLETTERED]
    assert batch.calls == 0
