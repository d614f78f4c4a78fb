"""Messages about the platform itself rather than the business."""

from __future__ import annotations

from pydantic import AwareDatetime

from shared.events import Event


class MessageDeadLettered(Event):
    """A consumer gave up on a message; it is kept here with the reason, ready to be replayed."""

    message_type = "platform.message_dead_lettered"
    message_version = 1

    consumer: str
    source_topic: str
    partition: int
    offset: int
    reason: str
    attempts: int
    failed_at: AwareDatetime
    #: The original bytes, decoded as UTF-8 with replacement (envelopes are JSON, so nothing is lost
    #: for well-formed input; a garbled message is garbled either way).
    original: str
    original_key: str | None = None
