"""Working dead letters: mirror the topic, list, show, replay through the normal path, discard.

Replay republishes the original envelope, unchanged, to the topic it came from. Every consumer of
that topic sees it again; those that handled it the first time find its ``event_id`` among their
processed events and change nothing, and the consumer that gave up gets another go. So a replay
done twice (two operators at once, or a retry after a crash) is harmless, and the letter is marked
replayed only after the broker has the record: nothing is marked that was not sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from shared.contracts import CATALOG, DEADLETTER, MessageDeadLettered
from shared.deadletters._model import DeadLetter, DeadLetterQuery, DeadLetterStatus
from shared.deadletters._source import ParkedSource
from shared.deadletters._stores import DeadLetterStore
from shared.events import Envelope, EventContractError, Topic, TopicRegistry, UnknownTopic
from shared.messaging import EventPublisher
from shared.observability import get_logger

__all__ = [
    "REPLAY_WINDOW",
    "AlreadyResolved",
    "Auditor",
    "BulkReport",
    "DeadLetterDesk",
    "DeadLetterError",
    "DeadLetterNotFound",
    "NotReplayable",
    "SyncReport",
    "replay_window",
]

log = get_logger(__name__)

#: Replays of records older than this are refused unless forced. Consumers skip a replayed record by
#: the claim they recorded in ``processed_events`` when they first handled it, and those claims expire
#: (30 days by default): the window is that retention less a day, counted from when the record was
#: produced (no consumer can have claimed it before), so within it every claim is still there.
REPLAY_WINDOW = timedelta(days=29)


def replay_window(processed_events_retention_days: int) -> timedelta:
    """The replay window for a processed-events retention: a day less (the TTL monitor lags, clocks drift)."""
    return timedelta(days=max(processed_events_retention_days - 1, 0))


class DeadLetterError(Exception):
    pass


class DeadLetterNotFound(DeadLetterError):
    pass


class AlreadyResolved(DeadLetterError):
    pass


class NotReplayable(DeadLetterError):
    pass


class Auditor(Protocol):
    async def __call__(
        self,
        action: str,
        object_id: str | None,
        *,
        appid: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None: ...


@dataclass(frozen=True)
class BulkReport:
    """What a replay or discard by filters did: the letters resolved, and those left with why."""

    done: list[DeadLetter]
    skipped: list[tuple[str, str]]


@dataclass(frozen=True)
class SyncReport:
    read: int
    added: int
    unreadable: int


def _blanked(letter: DeadLetter, now: datetime) -> DeadLetter:
    """An erased member's letter: kept as a count, without what it held (docs/operations.md, "Data rights")."""
    return replace(
        letter,
        original="",
        original_key=None,
        reason=letter.reason_kind,
        status=DeadLetterStatus.DISCARDED,
        resolved_at=now,
        resolved_by="erasure",
        note="member data erased",
    )


def _utc_now() -> datetime:
    return datetime.now(UTC)


class DeadLetterDesk:
    def __init__(
        self,
        store: DeadLetterStore,
        source: ParkedSource,
        publisher: EventPublisher,
        audit: Auditor,
        *,
        actor: str,
        topics: TopicRegistry,
        topic_prefix: str = "",
        replay_window: timedelta = REPLAY_WINDOW,
        clock: Callable[[], datetime] = _utc_now,
        erased: Callable[[str, str, datetime], Awaitable[bool]] | None = None,
    ) -> None:
        self.store = store
        self.source = source
        self.publisher = publisher
        self.audit = audit
        self.actor = actor
        self.topics = topics
        self.prefix = topic_prefix
        self.replay_window = replay_window
        self.clock = clock
        #: Whether a member (account, openid) was erased as of a time (``shared.datarights``): their
        #: letters are mirrored blanked and discarded, so mirroring does not undo an erasure.
        self.erased = erased

    async def sync(self) -> SyncReport:
        """Copy what the dead-letter topic holds beyond the mirror's position into the store.

        Safe to repeat and to run twice at once: letters are keyed by their deterministic id.
        """
        topic = DEADLETTER.physical_name(self.prefix)
        positions = await self.store.positions(topic)
        records = await self.source.read(topic, DEADLETTER.partitions, positions)
        added = unreadable = 0
        for record in records:
            try:
                envelope = Envelope.from_bytes(record.value)
                message = CATALOG.decode(envelope)
            except EventContractError as exc:
                unreadable += 1
                log.error("unreadable record on the dead-letter topic", offset=record.offset, error=str(exc))
                continue
            if not isinstance(message, MessageDeadLettered):
                continue
            letter = DeadLetter.parked(envelope, message)
            if (
                letter.original_key
                and self.erased
                and await self.erased(letter.appid, letter.original_key, letter.failed_at)
            ):
                letter = _blanked(letter, self.clock())
            if await self.store.add(letter):
                added += 1
        ends: dict[int, int] = {}
        for record in records:
            ends[record.partition] = max(ends.get(record.partition, 0), record.offset + 1)
        for partition, next_offset in ends.items():
            await self.store.advance(topic, partition, next_offset)
        return SyncReport(read=len(records), added=added, unreadable=unreadable)

    async def list(self, query: DeadLetterQuery) -> list[DeadLetter]:
        letters = await self.store.find(query)
        await self.audit("deadletter.listed", None, after={"filters": _filters(query), "count": len(letters)})
        return letters

    async def show(self, letter_id: str) -> DeadLetter:
        letter = await self._get(letter_id)
        await self.audit("deadletter.shown", letter.id, appid=letter.appid)
        return letter

    async def replay(self, letter_id: str, *, note: str | None = None, force: bool = False) -> DeadLetter:
        """Republish the letter's original; ``force`` replays one older than the replay window too."""
        letter = await self._open(letter_id)
        envelope = letter.original_envelope()
        if envelope is None:
            raise NotReplayable(f"dead letter {letter.id}: the original is not an envelope; discard it instead")
        age = self.clock() - min(envelope.occurred_at, letter.failed_at)
        if age > self.replay_window and not force:
            raise NotReplayable(
                f"dead letter {letter.id}: its record is {age.days} days old, beyond the replay window "
                f"({self.replay_window.days} days): consumers may have forgotten handling it; force it if you are sure"
            )
        topic = self._topic(letter)
        await self.publisher.publish(topic, envelope)
        resolved = await self.store.resolve(
            letter.id, DeadLetterStatus.REPLAYED, at=self.clock(), by=self.actor, note=note
        )
        await self.audit(
            "deadletter.replayed",
            letter.id,
            appid=letter.appid,
            before={"status": letter.status.value},
            after={
                "status": DeadLetterStatus.REPLAYED.value,
                "topic": letter.source_topic,
                "event_id": envelope.event_id,
                "consumer": letter.consumer,
                "note": note,
                "forced": force,
            },
        )
        if resolved is None:
            # Someone else resolved it meanwhile; the second publish is harmless (see the module doc).
            current = await self._get(letter.id)
            raise AlreadyResolved(
                f"dead letter {letter.id} was {current.status.value} by {current.resolved_by} meanwhile"
            )
        return resolved

    async def discard(self, letter_id: str, *, note: str | None = None) -> DeadLetter:
        letter = await self._open(letter_id)
        resolved = await self.store.resolve(
            letter.id, DeadLetterStatus.DISCARDED, at=self.clock(), by=self.actor, note=note
        )
        if resolved is None:
            current = await self._get(letter.id)
            raise AlreadyResolved(f"dead letter {letter.id} was {current.status.value} by {current.resolved_by}")
        await self.audit(
            "deadletter.discarded",
            letter.id,
            appid=letter.appid,
            before={"status": letter.status.value},
            after={"status": resolved.status.value, "consumer": letter.consumer, "note": note},
        )
        return resolved

    async def replay_matching(
        self, query: DeadLetterQuery, *, note: str | None = None, force: bool = False
    ) -> BulkReport:
        """Replay every open letter ``query`` matches, oldest failure first (the order they first came)."""
        return await self._each(query, lambda letter_id: self.replay(letter_id, note=note, force=force))

    async def discard_matching(self, query: DeadLetterQuery, *, note: str | None = None) -> BulkReport:
        return await self._each(query, lambda letter_id: self.discard(letter_id, note=note))

    async def _each(self, query: DeadLetterQuery, act: Callable[[str], Awaitable[DeadLetter]]) -> BulkReport:
        letters = await self.store.find(replace(query, status=DeadLetterStatus.OPEN, oldest_first=True))
        done: list[DeadLetter] = []
        skipped: list[tuple[str, str]] = []
        for letter in letters:
            try:
                done.append(await act(letter.id))
            except (AlreadyResolved, NotReplayable) as exc:
                skipped.append((letter.id, str(exc)))
        return BulkReport(done, skipped)

    async def _get(self, letter_id: str) -> DeadLetter:
        letter = await self.store.get(letter_id)
        if letter is None:
            raise DeadLetterNotFound(f"no dead letter {letter_id!r}")
        return letter

    async def _open(self, letter_id: str) -> DeadLetter:
        letter = await self._get(letter_id)
        if letter.status != DeadLetterStatus.OPEN:
            raise AlreadyResolved(f"dead letter {letter.id} was {letter.status.value} by {letter.resolved_by}")
        return letter

    def _topic(self, letter: DeadLetter) -> Topic:
        name = letter.source_topic
        if self.prefix and name.startswith(self.prefix):
            name = name[len(self.prefix) :]
        try:
            return self.topics.get(name)
        except UnknownTopic:
            raise NotReplayable(
                f"dead letter {letter.id}: topic {letter.source_topic!r} is not in the registry"
            ) from None


def _filters(query: DeadLetterQuery) -> dict[str, Any]:
    return {
        "consumer": query.consumer,
        "topic": query.topic,
        "reason": query.reason,
        "status": query.status.value if query.status else None,
        "since": query.since.isoformat() if query.since else None,
        "until": query.until.isoformat() if query.until else None,
    }
