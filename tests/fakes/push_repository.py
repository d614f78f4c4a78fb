"""Segments' :class:`~services.segments.service_layer.ports.PushRepository` port, losing a race on cue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.segments.adapters.memory import InMemoryPushes

__all__ = ["FakePushRepository"]


class FakePushRepository(InMemoryPushes):
    """The in-memory pushes, able to lose a race: ``race_to`` moves the push to that status behind the
    caller's back just before its next transition."""

    def __init__(self) -> None:
        super().__init__()
        self.race_to: str | None = None

    @property
    def docs(self) -> dict[str, dict[str, Any]]:
        return self.pushes

    async def transition(
        self, push_id: str, from_statuses: Sequence[str], to_status: str, **fields: Any
    ) -> dict[str, Any] | None:
        doc = self.pushes.get(push_id)
        if self.race_to is not None and doc is not None:
            doc["status"], self.race_to = self.race_to, None
        return await super().transition(push_id, from_statuses, to_status, **fields)
