"""The consumer runner's delivery policy, with a fake dead-letter publisher and a recorded sleep."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pymongo.errors import OperationFailure

from shared.contracts import CATALOG, DEADLETTER, MemberFollowed, MessageDeadLettered
from shared.events import Envelope, Message
from shared.messaging import Delivery, Outcome, PermanentHandlerError, RetryPolicy, dispatch
from shared.storage import StorageConflict, StorageError, StorageUnavailable, is_transient
from tests.fakes import FakePublisher

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
    assert sleeps.calls == [POLICY.max_delay] * 10
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
