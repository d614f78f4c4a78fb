"""Working dead letters (mirror, list, show, replay, discard) with the in-memory store and source,
fed by what :func:`shared.messaging.dispatch` really parks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.members.adapters.memory import InMemoryMembersUnitOfWork
from services.members.bootstrap import bootstrap
from services.members.settings import MembersSettings
from shared.contracts import CATALOG, DEADLETTER, TOPICS, WECHAT_PUSHES, MemberFollowed
from shared.deadletters import (
    REPLAY_WINDOW,
    AlreadyResolved,
    AmbiguousId,
    DeadLetterDesk,
    DeadLetterNotFound,
    DeadLetterQuery,
    DeadLetterStatus,
    InMemoryDeadLetterStore,
    InMemoryParkedSource,
    NotReplayable,
    ParkedRecord,
    reason_kind,
    replay_window,
)
from shared.events import Envelope, Message
from shared.messaging import Delivery, InMemoryEventPublisher, PermanentHandlerError, RetryPolicy, dispatch

AT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
PREFIX = "t."


class Audit:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    async def __call__(
        self,
        action: str,
        object_id: str | None,
        *,
        appid: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        self.entries.append(
            {"action": action, "object_id": object_id, "appid": appid, "before": before, "after": after}
        )


async def no_sleep(_: float) -> None:
    return None


def follow(openid: str) -> Envelope:
    return Envelope.wrap(MemberFollowed(openid=openid, followed_at=AT), appid="wx1", key=openid)


async def park(
    parked: InMemoryEventPublisher, value: bytes, *, consumer: str, offset: int, reason: str = "boom"
) -> None:
    async def handler(envelope: Envelope, message: Message) -> None:
        if reason == "crash":
            raise RuntimeError("crash")
        raise PermanentHandlerError(reason)

    await dispatch(
        Delivery(WECHAT_PUSHES.physical_name(PREFIX), 0, offset, b"k", value),
        consumer=consumer,
        handler=handler,
        catalog=CATALOG,
        deadletters=parked,
        retry=RetryPolicy(attempts=2, initial_delay=0.0, max_delay=0.0),
        sleep=no_sleep,
    )


def source_of(parked: InMemoryEventPublisher) -> InMemoryParkedSource:
    return InMemoryParkedSource(
        [ParkedRecord(0, offset, envelope.to_bytes()) for offset, (_, envelope) in enumerate(parked.published)]
    )


class World:
    def __init__(self) -> None:
        self.parked = InMemoryEventPublisher()
        self.store = InMemoryDeadLetterStore()
        self.republished = InMemoryEventPublisher()
        self.audit = Audit()
        self.now = AT + timedelta(hours=1)

    def desk(self, actor: str = "alice") -> DeadLetterDesk:
        return DeadLetterDesk(
            self.store,
            source_of(self.parked),
            self.republished,
            self.audit,
            actor=actor,
            topics=TOPICS,
            topic_prefix=PREFIX,
            clock=lambda: self.now,
        )


@pytest.fixture
async def world() -> World:
    world = World()
    await park(world.parked, follow("o1").to_bytes(), consumer="members", offset=10)
    await park(world.parked, follow("o2").to_bytes(), consumer="profiles", offset=11, reason="crash")
    await park(world.parked, b"not json", consumer="members", offset=12)
    return world


async def test_sync_mirrors_each_parked_record_once(world: World) -> None:
    desk = world.desk()
    report = await desk.sync()
    assert (report.read, report.added, report.unreadable) == (3, 3, 0)
    again = await desk.sync()
    assert (again.read, again.added) == (0, 0)  # the mirror's position moved past them
    # The same record parked again (a crash before the ack) is the same letter.
    await park(world.parked, follow("o1").to_bytes(), consumer="members", offset=10)
    world.store.cursor.clear()
    report = await world.desk().sync()
    assert (report.read, report.added) == (4, 0)
    assert len(world.store.letters) == 3


async def test_list_filters_by_consumer_topic_reason_status_and_time(world: World) -> None:
    desk = world.desk()
    await desk.sync()
    everything = await desk.list(DeadLetterQuery())
    assert len(everything) == 3
    assert {letter.consumer for letter in await desk.list(DeadLetterQuery(consumer="members"))} == {"members"}
    assert len(await desk.list(DeadLetterQuery(consumer="members"))) == 2
    assert [letter.reason_kind for letter in await desk.list(DeadLetterQuery(reason="failed"))] == ["failed"]
    assert [letter.reason_kind for letter in await desk.list(DeadLetterQuery(reason="contract"))] == ["contract"]
    assert len(await desk.list(DeadLetterQuery(topic=WECHAT_PUSHES.physical_name(PREFIX)))) == 3
    assert await desk.list(DeadLetterQuery(topic="t.other")) == []
    assert await desk.list(DeadLetterQuery(until=AT)) == []
    assert len(await desk.list(DeadLetterQuery(since=AT))) == 3
    assert len(await desk.list(DeadLetterQuery(limit=2))) == 2
    assert world.audit.entries[0]["action"] == "deadletter.listed"


async def test_show_finds_a_letter_by_a_prefix_of_its_id(world: World) -> None:
    desk = world.desk()
    await desk.sync()
    [letter] = await desk.list(DeadLetterQuery(reason="failed"))
    shown = await desk.show(letter.id[:8])
    assert shown == letter
    assert shown.consumer == "profiles" and shown.event_type == "member.followed"
    assert "RuntimeError: crash" in shown.reason and shown.attempts == 2
    assert world.audit.entries[-1] == {
        "action": "deadletter.shown",
        "object_id": letter.id,
        "appid": "wx1",
        "before": None,
        "after": None,
    }
    with pytest.raises(DeadLetterNotFound):
        await desk.show("ffffffffffffffffffff")
    with pytest.raises(AmbiguousId):
        await desk.show("")


async def test_replay_republishes_the_original_envelope_to_its_topic_and_is_audited(world: World) -> None:
    desk = world.desk()
    await desk.sync()
    [letter] = await desk.list(DeadLetterQuery(consumer="profiles"))
    replayed = await desk.replay(letter.id, note="fixed the handler")
    assert replayed.status == DeadLetterStatus.REPLAYED
    assert (replayed.resolved_by, replayed.resolved_at, replayed.note) == ("alice", world.now, "fixed the handler")
    [(topic, envelope)] = world.republished.published
    assert topic is WECHAT_PUSHES
    assert envelope == Envelope.from_bytes(letter.original.encode())  # same event_id: consumers deduplicate
    entry = world.audit.entries[-1]
    assert entry["action"] == "deadletter.replayed" and entry["object_id"] == letter.id
    assert entry["before"] == {"status": "open"} and entry["after"]["status"] == "replayed"
    assert await desk.list(DeadLetterQuery(consumer="profiles")) == []  # no longer open
    with pytest.raises(AlreadyResolved):
        await desk.replay(letter.id)
    assert len(world.republished.published) == 1


async def test_a_letter_that_is_no_envelope_cannot_be_replayed_but_can_be_discarded(world: World) -> None:
    desk = world.desk("bob")
    await desk.sync()
    [letter] = await desk.list(DeadLetterQuery(reason="contract"))
    with pytest.raises(NotReplayable):
        await desk.replay(letter.id)
    assert world.republished.published == []
    discarded = await desk.discard(letter.id, note="garbage from a test producer")
    assert discarded.status == DeadLetterStatus.DISCARDED and discarded.resolved_by == "bob"
    assert world.audit.entries[-1]["action"] == "deadletter.discarded"
    with pytest.raises(AlreadyResolved):
        await desk.discard(letter.id)
    with pytest.raises(AlreadyResolved):
        await desk.replay(letter.id)
    assert [letter.status for letter in await desk.list(DeadLetterQuery(status=DeadLetterStatus.DISCARDED))] == [
        DeadLetterStatus.DISCARDED
    ]


async def test_replay_races_leave_one_resolution_and_a_harmless_second_publish(world: World) -> None:
    desk = world.desk()
    await desk.sync()
    [letter] = await desk.list(DeadLetterQuery(consumer="profiles"))
    # Another operator resolves it between our check and our mark.
    original_publish = world.republished.publish

    async def publish_then_lose(topic: Any, envelope: Envelope) -> None:
        await original_publish(topic, envelope)
        await world.store.resolve(letter.id, DeadLetterStatus.REPLAYED, at=AT, by="carol", note=None)

    world.republished.publish = publish_then_lose  # type: ignore[method-assign]
    with pytest.raises(AlreadyResolved, match="carol"):
        await desk.replay(letter.id)
    assert (await world.store.get(letter.id)).resolved_by == "carol"  # type: ignore[union-attr]
    assert world.audit.entries[-1]["action"] == "deadletter.replayed"  # the publish that happened is on record


async def test_a_topic_outside_the_registry_is_not_replayable() -> None:
    world = World()
    envelope = follow("o9")

    async def handler(envelope: Envelope, message: Message) -> None:
        raise PermanentHandlerError("no")

    await dispatch(
        Delivery("t.retired.topic", 0, 1, b"k", envelope.to_bytes()),
        consumer="members",
        handler=handler,
        catalog=CATALOG,
        deadletters=world.parked,
        sleep=no_sleep,
    )
    desk = world.desk()
    await desk.sync()
    [letter] = await desk.list(DeadLetterQuery())
    with pytest.raises(NotReplayable, match="registry"):
        await desk.replay(letter.id)


def test_reason_kinds() -> None:
    assert reason_kind("contract: not JSON") == "contract"
    assert reason_kind("rejected: unknown campaign") == "rejected"
    assert reason_kind("failed after 5 attempts: KeyError: 'x'") == "failed"
    assert DEADLETTER.partitions == 1


async def test_replay_by_filters_goes_oldest_first_and_skips_what_cannot_be_replayed(world: World) -> None:
    await park(world.parked, follow("o3").to_bytes(), consumer="members", offset=13)
    desk = world.desk()
    await desk.sync()
    # Failures a minute apart, in the order they were parked.
    for minute, letter in enumerate(sorted(world.store.letters.values(), key=lambda letter: letter.offset)):
        world.store.letters[letter.id] = replace(letter, failed_at=AT + timedelta(minutes=minute))
    report = await desk.replay_matching(DeadLetterQuery(consumer="members"), note="bulk")
    assert [letter.offset for letter in report.done] == [10, 13]
    assert [Envelope.from_bytes(letter.original.encode()).key for letter in report.done] == ["o1", "o3"]
    assert [envelope.key for _, envelope in world.republished.published] == ["o1", "o3"]
    [(skipped_id, why)] = report.skipped
    assert world.store.letters[skipped_id].reason_kind == "contract" and "discard it instead" in why
    # Left open, newest first: the garbled one (offset 12) and the other consumer's (offset 11).
    assert [letter.offset for letter in await desk.list(DeadLetterQuery())] == [12, 11]
    # Nothing open matches any more but the garbled one: a second run replays nothing.
    again = await desk.replay_matching(DeadLetterQuery(consumer="members"))
    assert again.done == [] and len(again.skipped) == 1


async def test_discard_by_filters_resolves_every_open_match(world: World) -> None:
    desk = world.desk()
    await desk.sync()
    report = await desk.discard_matching(DeadLetterQuery(consumer="members", since=AT), note="known bad producer")
    assert len(report.done) == 2 and report.skipped == []
    assert {letter.status for letter in report.done} == {DeadLetterStatus.DISCARDED}
    assert [entry["action"] for entry in world.audit.entries[-2:]] == ["deadletter.discarded"] * 2
    assert world.republished.published == []
    assert len(await desk.list(DeadLetterQuery(limit=1, oldest_first=True))) == 1


async def test_a_replay_is_harmless_to_consumers_that_handled_the_record_and_heals_the_one_that_failed() -> None:
    """The members service handled a follow; profiles gave up on it. After the fix, the replayed
    envelope reaches both through the normal dispatch path: members' processed-event claim skips it,
    profiles applies it once."""
    world = World()
    record = Delivery(WECHAT_PUSHES.physical_name(PREFIX), 0, 20, b"o5", follow("o5").to_bytes())
    uow = InMemoryMembersUnitOfWork()
    profiles_seen: list[str] = []
    profiles_fixed = False

    async def profiles(envelope: Envelope, message: Message) -> None:
        if not profiles_fixed:
            raise RuntimeError("bug in profiles")
        profiles_seen.append(envelope.event_id)

    async with bootstrap(MembersSettings(), uow=lambda: uow) as members:

        async def deliver(delivery: Delivery) -> None:
            for consumer, handler in (("members", members.handle), ("profiles", profiles)):
                await dispatch(
                    delivery,
                    consumer=consumer,
                    handler=handler,
                    catalog=CATALOG,
                    deadletters=world.parked,
                    retry=RetryPolicy(attempts=2, initial_delay=0.0, max_delay=0.0),
                    sleep=no_sleep,
                )

        await deliver(record)
        assert uow.committed[("wx1", "o5")].follow_count == 1 and profiles_seen == []
        desk = world.desk()
        await desk.sync()
        [letter] = await desk.list(DeadLetterQuery(consumer="profiles"))

        profiles_fixed = True
        await desk.replay(letter.id)
        [(_, replayed)] = world.republished.published
        await deliver(Delivery(record.topic, 0, 21, record.key, replayed.to_bytes()))

    assert uow.committed[("wx1", "o5")].follow_count == 1  # not doubled
    assert profiles_seen == [replayed.event_id]  # healed, once
    assert len(world.parked.published) == 1  # nothing parked anew


async def test_a_letter_older_than_the_replay_window_is_replayed_only_when_forced(world: World) -> None:
    desk = world.desk()
    await desk.sync()
    [letter] = await desk.list(DeadLetterQuery(consumer="profiles"))
    world.now = letter.failed_at + REPLAY_WINDOW + timedelta(days=1)
    with pytest.raises(NotReplayable, match="replay window"):
        await desk.replay(letter.id)
    report = await desk.replay_matching(DeadLetterQuery(consumer="profiles"))
    assert report.done == [] and "replay window" in report.skipped[0][1]
    assert world.republished.published == []
    replayed = await desk.replay(letter.id, force=True)
    assert replayed.status == DeadLetterStatus.REPLAYED and len(world.republished.published) == 1
    assert world.audit.entries[-1]["after"]["forced"] is True


async def test_the_window_counts_from_when_the_record_was_produced_not_when_it_failed() -> None:
    """A consumer that lagged days behind parks a record the others claimed long before it failed."""
    world = World()
    old = Envelope.wrap(
        MemberFollowed(openid="o7", followed_at=AT), appid="wx1", key="o7", occurred_at=AT - timedelta(days=40)
    )
    await park(world.parked, old.to_bytes(), consumer="profiles", offset=30)
    desk = world.desk()
    await desk.sync()
    [letter] = await desk.list(DeadLetterQuery())
    world.now = letter.failed_at  # failed just now
    with pytest.raises(NotReplayable, match="beyond the replay window"):
        await desk.replay(letter.id)
    assert replay_window(30) == timedelta(days=29) == REPLAY_WINDOW
    assert replay_window(8) == timedelta(days=7)
