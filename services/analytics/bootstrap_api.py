"""The analytics API's composition root: the rollup reader over MongoDB, or the caller's (tests), with
the settled days kept in memory in front of it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from services.analytics.adapters.rollup_reader import ROLLUP_READ_INDEXES, MongoRollupReader
from services.analytics.adapters.settled_cache import SettledDaysCache
from services.analytics.service_layer.dashboards import Dashboards
from services.analytics.service_layer.ports import RollupReader
from services.analytics.settings import AnalyticsSettings
from shared.storage import connect

__all__ = ["AnalyticsApi", "bootstrap_api"]


@dataclass(frozen=True)
class AnalyticsApi:
    settings: AnalyticsSettings
    dashboards: Dashboards
    ready: Callable[[], Awaitable[None]]


async def _always_ready() -> None:
    return None


def _utc_now() -> datetime:
    return datetime.now(UTC)


@asynccontextmanager
async def bootstrap_api(
    settings: AnalyticsSettings, *, reader: RollupReader | None = None, clock: Callable[[], datetime] = _utc_now
) -> AsyncIterator[AnalyticsApi]:
    """Reads the rollups in the settings' MongoDB, or through ``reader`` (an in-memory one in tests);
    the settled days it read are kept for ``DASHBOARD_CACHE_SECONDS``."""

    def dashboards(inner: RollupReader) -> Dashboards:
        return Dashboards(SettledDaysCache(inner, clock=clock, ttl_seconds=settings.dashboard_cache_seconds))

    if reader is not None:
        yield AnalyticsApi(settings, dashboards(reader), _always_ready)
        return
    async with connect(settings, ROLLUP_READ_INDEXES) as mongo:
        yield AnalyticsApi(settings, dashboards(MongoRollupReader(mongo.database)), mongo.ready)
