"""Operators for tests of apps built with identity: an in-memory directory with one operator per role
on an account, one admin of another account, and each one's API token.

    callers = Callers.on("wx1")
    app = create_app(settings, identity=callers.config)   # or create_service_app(..., identity=...)
    client.get(path, headers=callers.headers(Role.ANALYST))  # or callers.headers_other_account()
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from shared.identity import (
    CLI_ACTOR,
    Directory,
    IdentityConfig,
    InMemoryAuditLog,
    InMemoryIdentityStore,
    PasswordHasher,
    Role,
)

__all__ = ["Callers", "cheap_directory", "identity_config"]

#: OWASP's floor: the cheapest parameters the hasher accepts, so tests stay fast.
_CHEAP = {"memory_kib": 19 * 1024, "time_cost": 2}


def cheap_directory() -> Directory:
    return Directory(InMemoryIdentityStore(), InMemoryAuditLog(), hasher=PasswordHasher(**_CHEAP))


def identity_config(directory: Directory) -> IdentityConfig:
    """What an app under test resolves its callers with: ``directory``, as it is (no cookies' Secure)."""

    @asynccontextmanager
    async def open_directory() -> AsyncIterator[Directory]:
        yield directory

    return IdentityConfig(open_directory, secure_cookies=False)


@dataclass(frozen=True)
class Callers:
    directory: Directory
    appid: str
    tokens: dict[Role, str]
    #: An admin of another account only.
    other_account_token: str

    @classmethod
    def on(cls, appid: str, *, other_appid: str = "wx_other") -> Callers:
        """Build in a fresh event loop (call it outside running loops: fixtures, module setup)."""
        directory = cheap_directory()

        async def seed() -> tuple[dict[Role, str], str]:
            tokens: dict[Role, str] = {}
            for role in Role:
                await directory.create_operator(CLI_ACTOR, f"{role.value}-op", password=None, kind="service")
                await directory.grant(CLI_ACTOR, f"{role.value}-op", role.value, appid)
                tokens[role], _ = await directory.create_token(CLI_ACTOR, f"{role.value}-op", label="test")
            await directory.create_operator(CLI_ACTOR, "elsewhere", password=None, kind="service")
            await directory.grant(CLI_ACTOR, "elsewhere", Role.ADMIN.value, other_appid)
            other, _ = await directory.create_token(CLI_ACTOR, "elsewhere", label="test")
            return tokens, other

        tokens, other = asyncio.run(seed())
        return cls(directory, appid, tokens, other)

    @property
    def config(self) -> IdentityConfig:
        return identity_config(self.directory)

    def headers(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def headers_other_account(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.other_account_token}"}
