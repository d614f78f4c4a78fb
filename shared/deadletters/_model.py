"""Dead letters as an operator works them: what was parked, why, and what became of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.contracts import MessageDeadLettered
from shared.events import Envelope, EventContractError

__all__ = ["DeadLetter", "DeadLetterQuery", "DeadLetterStatus", "reason_kind"]


class DeadLetterStatus(StrEnum):
    OPEN = "open"
    REPLAYED = "replayed"
    DISCARDED = "discarded"


def reason_kind(reason: str) -> str:
    """The class of a failure as dispatch words it: ``contract``, ``rejected`` or ``failed``."""
    head = reason.split(":", 1)[0].strip()
    return "failed" if head.startswith("failed after") else head


@dataclass(frozen=True)
class DeadLetter:
    """One parked record. ``id`` is the parked envelope's event id, derived from consumer, topic,
    partition and offset: the same record parked twice (a crash in between) is the same dead letter."""

    id: str
    consumer: str
    source_topic: str
    partition: int
    offset: int
    reason: str
    attempts: int
    failed_at: datetime
    original: str
    original_key: str | None
    appid: str
    #: The original envelope's id and type, when it was an envelope at all (``contract`` failures
    #: may not be).
    event_id: str | None = None
    event_type: str | None = None
    status: DeadLetterStatus = DeadLetterStatus.OPEN
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    note: str | None = None

    @property
    def reason_kind(self) -> str:
        return reason_kind(self.reason)

    def original_envelope(self) -> Envelope | None:
        """The original envelope, or ``None`` when the original was not one (it cannot be replayed)."""
        try:
            return Envelope.from_bytes(self.original.encode("utf-8"))
        except EventContractError:
            return None

    @classmethod
    def parked(cls, envelope: Envelope, message: MessageDeadLettered) -> DeadLetter:
        letter = cls(
            id=envelope.event_id,
            consumer=message.consumer,
            source_topic=message.source_topic,
            partition=message.partition,
            offset=message.offset,
            reason=message.reason,
            attempts=message.attempts,
            failed_at=message.failed_at,
            original=message.original,
            original_key=message.original_key,
            appid=envelope.appid,
        )
        original = letter.original_envelope()
        if original is None:
            return letter
        return DeadLetter(**{**letter.__dict__, "event_id": original.event_id, "event_type": original.type})


@dataclass(frozen=True)
class DeadLetterQuery:
    """Filters for ``list``; ``status=None`` means every status. Newest failures first, unless
    ``oldest_first`` (replaying in the order the records first came)."""

    consumer: str | None = None
    topic: str | None = None
    reason: str | None = None
    status: DeadLetterStatus | None = DeadLetterStatus.OPEN
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    oldest_first: bool = False

    def matches(self, letter: DeadLetter) -> bool:
        return (
            (self.consumer is None or letter.consumer == self.consumer)
            and (self.topic is None or letter.source_topic == self.topic)
            and (self.reason is None or letter.reason_kind == self.reason)
            and (self.status is None or letter.status == self.status)
            and (self.since is None or letter.failed_at >= self.since)
            and (self.until is None or letter.failed_at < self.until)
        )
