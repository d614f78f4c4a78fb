"""What the push pipeline needs from the outside world, as small interfaces (fakes in unit tests)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Literal, Protocol, Self

from services.segments.domain.participation import Standing
from services.segments.domain.pushes import Channel, MessageContent, SubscriptionContent, TemplateContent

__all__ = [
    "Content",
    "ParticipationStore",
    "ParticipationUnitOfWork",
    "PushStore",
    "RefusalKind",
    "SendRefused",
    "Sender",
]

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


class PushStore(Protocol):
    """Where the dispatcher keeps pushes, frozen audiences, delivery records and members' recent sends
    (MongoDB: :class:`~services.segments.adapters.store.MongoPushes`). Documents are plain dicts."""

    async def claim_due(
        self, statuses: Sequence[str], to_status: str, now: datetime, lease: timedelta
    ) -> dict[str, Any] | None:
        """The next due push in ``statuses`` nobody holds, moved to ``to_status`` and leased."""
        ...

    async def get(self, push_id: str, appid: str | None = None) -> dict[str, Any] | None: ...

    async def update(self, push_id: str, fields: Mapping[str, Any], inc: Mapping[str, int] | None = None) -> None:
        """Set ``fields`` (dotted paths allowed) and add ``inc`` to counters."""
        ...

    async def audience_chunk(self, push_id: str, chunk: int) -> list[str] | None: ...

    async def recorded(self, push_id: str, openids: Sequence[str]) -> dict[str, dict[str, Any]]: ...

    async def record(self, documents: Sequence[dict[str, Any]]) -> set[str]:
        """Insert delivery records; the openids whose record existed already."""
        ...

    async def settle(self, outcomes: Sequence[tuple[str, dict[str, Any]]]) -> None: ...

    async def remember_templates(self, appid: str, push_id: str, sent: Sequence[tuple[int, str, str]]) -> None: ...

    async def forget(self, delivery_ids: Sequence[str]) -> None: ...

    async def profiles_of(self, appid: str, openids: Sequence[str]) -> dict[str, dict[str, Any]]: ...

    async def recent_sends(self, appid: str, openids: Sequence[str]) -> dict[str, dict[str, Any]]: ...

    async def count_sends(self, appid: str, openids: Sequence[str], at: datetime, month: str | None = None) -> None: ...


class ParticipationStore(Protocol):
    """Segments' own copy of campaign participation (MongoDB:
    :class:`~services.segments.adapters.participation.MongoParticipation`)."""

    async def kept(self, appid: str, openid: str, campaign_id: str) -> Standing | None: ...

    async def keep(self, standing: Standing) -> None:
        """Store ``standing`` in place of the one kept for its member and campaign."""
        ...


class ParticipationUnitOfWork(Protocol):
    """One transaction over the participation copy and the processed-event records."""

    @property
    def participation(self) -> ParticipationStore:
        """The store bound to this transaction (inside ``async with`` only)."""
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    async def claim(self, consumer: str, event_id: str) -> bool:
        """Record that ``consumer`` processes ``event_id``; False if it already did."""
        ...

    async def commit(self) -> None: ...
