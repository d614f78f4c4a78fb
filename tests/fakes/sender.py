"""Segments' :class:`~services.segments.service_layer.ports.Sender` port (WeChat messages, tags, mass sends)."""

from __future__ import annotations

from collections.abc import Sequence

from services.segments.domain.pushes import Channel, MessageContent
from services.segments.service_layer.ports import Content, Sender

__all__ = ["RecordingSender"]


class RecordingSender(Sender):
    """The platform answering every message send (as the bench's simulator does) and noting who got one.

    Tags and mass sends are not part of what it stands in for: they fail the test that reaches them.
    """

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send(self, appid: str, openid: str, channel: Channel, content: Content, client_msg_id: str) -> int | None:
        self.sent.append(openid)
        return len(self.sent)

    async def create_tag(self, appid: str, name: str) -> int:
        raise AssertionError("RecordingSender does not create WeChat tags")

    async def tag_members(self, appid: str, tag_id: int, openids: Sequence[str]) -> None:
        raise AssertionError("RecordingSender does not tag members")

    async def delete_tag(self, appid: str, tag_id: int) -> None:
        raise AssertionError("RecordingSender does not delete WeChat tags")

    async def mass_send(self, appid: str, content: MessageContent, tag_id: int, clientmsgid: str) -> int:
        raise AssertionError("RecordingSender does not mass-send")
