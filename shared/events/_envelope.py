from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from shared.events._exceptions import MalformedEnvelope


class Message(BaseModel):
    """A payload with a stable name and a version. Subclass :class:`Event` or :class:`Command`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Stable wire name, e.g. ``"member.followed"``. Never reuse a name for another meaning.
    message_type: ClassVar[str]
    #: Bumped with an upcaster whenever the shape changes.
    message_version: ClassVar[int] = 1


class Event(Message):
    """Something that happened. Named in the past tense."""


class Command(Message):
    """Something a service is asked to do. Named in the imperative."""


def _new_event_id() -> str:
    return uuid.uuid4().hex


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    """What travels on Kafka: the payload plus what every consumer needs to route and deduplicate it.

    ``event_id`` is the idempotency key downstream: a producer that retries sends the same envelope
    (same id) again, and consumers record the ids they have processed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str = Field(default_factory=_new_event_id, min_length=1, max_length=128)
    type: str = Field(min_length=1, max_length=128)
    version: int = Field(ge=1)
    occurred_at: AwareDatetime = Field(default_factory=_utcnow)
    appid: str = Field(min_length=1, max_length=64)
    key: str = Field(min_length=1, max_length=256)
    payload: dict[str, Any]

    @classmethod
    def wrap(
        cls,
        message: Message,
        *,
        appid: str,
        key: str,
        occurred_at: datetime | None = None,
        event_id: str | None = None,
    ) -> Self:
        """Put a payload in an envelope. Pass ``event_id`` when the id must be deterministic."""
        fields: dict[str, Any] = {
            "type": message.message_type,
            "version": message.message_version,
            "appid": appid,
            "key": key,
            "payload": message.model_dump(mode="json"),
        }
        if occurred_at is not None:
            fields["occurred_at"] = occurred_at
        if event_id is not None:
            fields["event_id"] = event_id
        return cls(**fields)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes | str) -> Self:
        try:
            return cls.model_validate_json(data)
        except ValidationError as exc:
            raise MalformedEnvelope(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "message"
    return f"{where}: {first['msg']} ({exc.error_count()} error(s))"
