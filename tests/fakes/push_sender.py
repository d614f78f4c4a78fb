"""The WeChat simulator's :class:`~services.wechat_sim.service_layer.ports.PushSender` port."""

from __future__ import annotations

from collections.abc import Mapping

from services.wechat_sim.service_layer.ports import PushResponse, PushSender
from shared.wechat import parse_xml

__all__ = ["AckSender"]


class AckSender(PushSender):
    """Stands in for the gateway: acknowledges every push with ``success`` (no passive reply) and keeps it."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def post(self, url: str, params: Mapping[str, str], body: bytes) -> PushResponse:
        self.bodies.append(body)
        return PushResponse(200, b"success")

    @property
    def pushes(self) -> list[dict[str, str]]:
        return [parse_xml(body) for body in self.bodies]

    def events(self, event: str) -> list[dict[str, str]]:
        return [p for p in self.pushes if p.get("Event") == event]
