"""The gateway's :class:`~services.gateway.service_layer.ports.PushLedger` port."""

from __future__ import annotations

from services.gateway.service_layer.ports import ClaimResult, PushLedger

__all__ = ["BrokenLedger"]


class BrokenLedger(PushLedger):
    """A ledger whose store is down: every call raises."""

    async def claim(self, key: str) -> ClaimResult:
        raise ConnectionError("ledger down")

    async def complete(self, key: str, reply: bytes) -> None:
        raise ConnectionError("ledger down")

    async def release(self, key: str) -> None:
        raise ConnectionError("ledger down")
