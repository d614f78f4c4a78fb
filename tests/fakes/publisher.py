"""The :class:`shared.messaging.EventPublisher` port, failing on cue."""

from __future__ import annotations

from shared.events import Envelope, Topic
from shared.messaging import InMemoryEventPublisher, PublishFailed

__all__ = ["FakePublisher"]


class FakePublisher(InMemoryEventPublisher):
    """The in-memory publisher, failing its first ``failures`` publishes as an unreachable broker would."""

    def __init__(self, *, failures: int = 0) -> None:
        super().__init__()
        self._failures = failures

    async def publish(self, topic: Topic, envelope: Envelope) -> None:
        if self._failures:
            self._failures -= 1
            raise PublishFailed("broker unavailable (fake)")
        await super().publish(topic, envelope)
