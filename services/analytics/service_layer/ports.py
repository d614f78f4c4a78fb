"""The ports the analytics service layer works through. Nothing here names a driver.

The read side (the dashboards API): :class:`RollupReader`, the rollup documents of one account over a
range of Beijing days, for one scope or every scope under a prefix.
"""

from __future__ import annotations

from typing import Protocol

from services.analytics.domain.dashboards import Rollup

__all__ = ["RollupReader"]


class RollupReader(Protocol):
    """Reads rollups by (appid, scope, day): at most one small document per scope and day."""

    async def read(self, appid: str, scope: str, first: str, last: str) -> list[Rollup]:
        """The rollups of ``scope`` on the days ``first`` to ``last`` (``YYYY-MM-DD``, both included)."""
        ...

    async def read_prefix(self, appid: str, prefix: str, first: str, last: str) -> list[Rollup]:
        """The rollups of every scope starting with ``prefix`` (``push:``) on those days."""
        ...
