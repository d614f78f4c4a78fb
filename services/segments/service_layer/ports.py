"""What the push pipeline needs from the outside world, as small interfaces (fakes in unit tests)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol

from services.segments.domain.pushes import Channel, MessageContent, SubscriptionContent, TemplateContent

__all__ = ["Content", "RefusalKind", "SendRefused", "Sender"]

Content = MessageContent | TemplateContent | SubscriptionContent

#: window: the interaction window is closed (another channel may still work); quota: the day's quota
#: is used up (stop the push until ``retry_after``); transient: worth retrying; recipient: this member
#: cannot get it; rejected: the platform refused the request itself.
RefusalKind = Literal["window", "quota", "transient", "recipient", "rejected"]


class SendRefused(Exception):
    def __init__(self, errcode: int, kind: RefusalKind, message: str, retry_after: float = 0.0) -> None:
        super().__init__(f"{errcode}: {message}")
        self.errcode = errcode
        self.kind = kind
        self.retry_after = retry_after


class Sender(Protocol):
    async def send(self, appid: str, openid: str, channel: Channel, content: Content, client_msg_id: str) -> int | None:
        """Send one message; the template ``msgid`` for templates. Raises :class:`SendRefused`."""
        ...

    async def create_tag(self, appid: str, name: str) -> int: ...

    async def tag_members(self, appid: str, tag_id: int, openids: Sequence[str]) -> None: ...

    async def delete_tag(self, appid: str, tag_id: int) -> None: ...

    async def mass_send(self, appid: str, content: MessageContent, tag_id: int, clientmsgid: str) -> int:
        """A mass send to the members carrying ``tag_id``; the job's msg_id."""
        ...
