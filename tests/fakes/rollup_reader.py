"""Analytics' :class:`~services.analytics.service_layer.ports.RollupReader` port."""

from __future__ import annotations

from collections.abc import Collection

from services.analytics.adapters.memory_reader import InMemoryRollupReader
from services.analytics.domain.dashboards import Rollup

__all__ = ["RecordingRollupReader"]


class RecordingRollupReader(InMemoryRollupReader):
    """Rollups in memory that note every read they answer: ``(kind, scope or prefix, first, last)``."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[tuple[str, str, str, str]] = []

    async def read(
        self, appid: str, scope: str, first: str, last: str, metrics: Collection[str] | None = None
    ) -> list[Rollup]:
        self.reads.append(("scope", scope, first, last))
        return await super().read(appid, scope, first, last, metrics)

    async def read_prefix(
        self, appid: str, prefix: str, first: str, last: str, metrics: Collection[str] | None = None
    ) -> list[Rollup]:
        self.reads.append(("prefix", prefix, first, last))
        return await super().read_prefix(appid, prefix, first, last, metrics)
