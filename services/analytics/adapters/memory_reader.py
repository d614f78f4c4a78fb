"""Rollups in memory, for tests and tools: the same answers as :class:`MongoRollupReader`."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from services.analytics.domain.dashboards import Rollup

__all__ = ["InMemoryRollupReader"]


class InMemoryRollupReader:
    def __init__(self) -> None:
        #: (appid, scope, day) → counters, as the rollup documents hold them.
        self.documents: dict[tuple[str, str, str], dict[str, int]] = {}

    def add(self, appid: str, scope: str, day: str, counters: Mapping[str, int]) -> None:
        """Adds ``counters`` to the document of (appid, scope, day), as the worker's ``$inc`` does."""
        document = self.documents.setdefault((appid, scope, day), {})
        for metric, value in counters.items():
            document[metric] = document.get(metric, 0) + value

    async def read(
        self, appid: str, scope: str, first: str, last: str, metrics: Collection[str] | None = None
    ) -> list[Rollup]:
        return self._find(appid, lambda candidate: candidate == scope, first, last, metrics)

    async def read_prefix(
        self, appid: str, prefix: str, first: str, last: str, metrics: Collection[str] | None = None
    ) -> list[Rollup]:
        return self._find(appid, lambda candidate: candidate.startswith(prefix), first, last, metrics)

    def _find(
        self,
        appid: str,
        scope_matches: Callable[[str], bool],
        first: str,
        last: str,
        metrics: Collection[str] | None,
    ) -> list[Rollup]:
        return [
            Rollup(scope, day, {m: n for m, n in counters.items() if metrics is None or m in metrics})
            for (owner, scope, day), counters in sorted(self.documents.items())
            if owner == appid and scope_matches(scope) and first <= day <= last
        ]
