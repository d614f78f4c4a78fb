"""The ports the members handlers use; adapters/ holds the MongoDB implementations."""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Protocol, Self

from services.members.domain.model import Member

__all__ = ["MemberReader", "MemberRepository", "UnitOfWork"]


class MemberRepository(abc.ABC):
    @abc.abstractmethod
    async def get(self, appid: str, openid: str) -> Member | None: ...

    @abc.abstractmethod
    async def save(self, member: Member) -> None: ...


class UnitOfWork(abc.ABC):
    """The port handlers use. ``claim`` and the repository's writes commit together."""

    members: MemberRepository

    @abc.abstractmethod
    async def __aenter__(self) -> Self: ...

    @abc.abstractmethod
    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    @abc.abstractmethod
    async def claim(self, consumer: str, event_id: str) -> bool: ...

    @abc.abstractmethod
    async def commit(self) -> None: ...


class MemberReader(Protocol):
    """The read side the HTTP API answers from (MongoDB's views, or in memory for tests)."""

    async def get(self, appid: str, openid: str) -> Member | None: ...

    async def list(self, appid: str, *, following: bool | None, limit: int, offset: int) -> list[Member]:
        """Newest follow first, then by openid."""
        ...

    async def counts(self, appid: str) -> dict[str, int]: ...
