"""Event contracts: what travels on Kafka and how old shapes keep being readable.

A message on the wire is an :class:`Envelope` (JSON): event id, type, version, when it happened, the
account's appid, the partition key and the payload. Payloads are frozen models that subclass
:class:`Event` (past tense: ``MemberFollowed``) or :class:`Command` (imperative: ``SendPush``).

Shapes are never edited once published. A new shape is a new version plus an :class:`Upcaster` from the
previous one; the :class:`EventCatalog` upcasts old envelopes on read, so consumers only see the latest.
"""

from shared.events._catalog import EventCatalog, Upcaster
from shared.events._envelope import Command, Envelope, Event, Message
from shared.events._exceptions import (
    EventContractError,
    InvalidEventPayload,
    MalformedEnvelope,
    UnknownEventType,
    UnknownTopic,
)
from shared.events._topics import Topic, TopicRegistry

__all__ = [
    "Command",
    "Envelope",
    "Event",
    "EventCatalog",
    "EventContractError",
    "InvalidEventPayload",
    "MalformedEnvelope",
    "Message",
    "Topic",
    "TopicRegistry",
    "UnknownEventType",
    "UnknownTopic",
    "Upcaster",
]
