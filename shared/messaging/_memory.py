from __future__ import annotations

from shared.events import Envelope, Topic
from shared.messaging._publisher import to_record


class InMemoryEventPublisher:
    """The :class:`EventPublisher` port keeping what it is given, in order (tests, local tools).

    Each envelope is checked and encoded as Kafka's publisher does (a topic that does not carry its
    type raises ``TopicMismatch``), so what passes here passes there.
    """

    def __init__(self) -> None:
        self.published: list[tuple[Topic, Envelope]] = []

    async def publish(self, topic: Topic, envelope: Envelope) -> None:
        to_record(topic, envelope, "")
        self.published.append((topic, envelope))
