"""The ports the analytics service layer works through. Nothing here names a driver.

The write side (the rollup worker): :class:`RollupsUnitOfWork`, one transaction over processed-event
claims, rollup increments and the worker's follower state.

The read side (the dashboards API): :class:`RollupReader`, the rollup documents of one account over a
range of Beijing days, for one scope or every scope under a prefix.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from types import TracebackType
from typing import Protocol

from services.analytics.domain.dashboards import Rollup
from services.analytics.domain.rollups import Follower, Rollups

__all__ = ["FollowerStore", "RollupReader", "RollupWriter", "RollupsUnitOfWork"]


class RollupWriter(Protocol):
    """Adds increments to the rollup documents (creating them on first use); never sets a counter."""

    async def add(self, increments: Rollups) -> None: ...


class FollowerStore(Protocol):
    """The worker's per-member state, keyed by (appid, openid)."""

    async def get_many(self, members: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Follower]: ...

    async def save_many(self, followers: Sequence[Follower]) -> None: ...


class RollupsUnitOfWork(Protocol):
    """One transaction over claims, rollups and followers: nothing is kept without ``commit``."""

    @property
    def rollups(self) -> RollupWriter: ...

    @property
    def followers(self) -> FollowerStore: ...

    async def __aenter__(self) -> RollupsUnitOfWork: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def claim_many(self, consumer: str, event_ids: Sequence[str]) -> set[str]: ...

    async def commit(self) -> None: ...


class RollupReader(Protocol):
    """Reads rollups by (appid, scope, day): at most one small document per scope and day."""

    async def read(
        self, appid: str, scope: str, first: str, last: str, metrics: Collection[str] | None = None
    ) -> list[Rollup]:
        """The rollups of ``scope`` on the days ``first`` to ``last`` (``YYYY-MM-DD``, both included);
        with ``metrics``, only those counters of each (a dashboard that needs few reads less)."""
        ...

    async def read_prefix(
        self, appid: str, prefix: str, first: str, last: str, metrics: Collection[str] | None = None
    ) -> list[Rollup]:
        """The rollups of every scope starting with ``prefix`` (``push:``) on those days (with
        ``metrics``, only those counters)."""
        ...
