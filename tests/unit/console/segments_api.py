"""The segments API as the console's tests run it: the real app and service over in-memory stores and a
live index built from fixed members (its ``bootstrap_api`` swapped for :meth:`InMemorySegmentsApi.bootstrap`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import Any, cast

from services.segments.adapters.memory import InMemoryPushes, InMemorySegments
from services.segments.bootstrap import SegmentsService
from services.segments.domain.rules import MemberFacts
from services.segments.service_layer.live_index import LiveIndex
from services.segments.settings import SegmentsSettings
from shared.maternal_infant import load_taxonomy
from tests.fakes.member_facts import FakeFacts

__all__ = ["InMemorySegmentsApi"]


class InMemorySegmentsApi:
    """The stores behind the API under test, to seed and to look at; ``sender`` for test sends."""

    def __init__(self, members: Callable[[], Sequence[MemberFacts]], sender: Any = None) -> None:
        self.members = members
        self.segments = InMemorySegments()
        self.pushes = InMemoryPushes()
        self.sender = sender
        self.live: LiveIndex | None = None

    def bootstrap(self, settings: SegmentsSettings, **_: Any) -> AbstractAsyncContextManager[SegmentsService]:
        """Stands in for ``bootstrap_api``: the same service, its live index over the fixed members."""

        @asynccontextmanager
        async def in_memory() -> AsyncIterator[SegmentsService]:
            facts = FakeFacts(list(self.members()))
            live = self.live = LiveIndex(facts)
            await live.rebuild(datetime.now(UTC))

            async def ready() -> None:
                return None

            service = SegmentsService(
                settings,
                load_taxonomy(settings.taxonomy_path),
                cast(Any, self.segments),
                cast(Any, self.pushes),
                {"mongodb": ready},
            )
            service.live, service.facts = live, cast(Any, facts)
            if self.sender is not None:
                service.sender = self.sender
            yield service

        return in_memory()
