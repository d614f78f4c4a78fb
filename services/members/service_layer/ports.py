"""The ports the members handlers use; adapters/ holds the MongoDB implementations."""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Self

from services.members.domain.model import Member

__all__ = ["MemberRepository", "UnitOfWork"]


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
