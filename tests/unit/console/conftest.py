"""The console over the real identity API, both in process (``tests.unit.console.stack``): the sign-in,
the session and the CSRF token are the identity service's own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from shared.identity import CLI_ACTOR, Directory
from tests.identities import cheap_directory
from tests.unit.console.stack import APPID, console_client

__all__ = ["APPID", "PASSWORDS", "ConsoleUnderTest"]
PASSWORDS = {"ada": "ada-password-0001", "rita": "rita-password-001", "otto": "otto-password-001"}


@dataclass
class ConsoleUnderTest:
    client: httpx.AsyncClient
    directory: Directory

    async def sign_in(self, name: str) -> httpx.Response:
        return await self.client.post("/login", data={"name": name, "password": PASSWORDS[name], "next": "/"})

    async def csrf(self) -> str:
        page = await self.client.get(f"/accounts/{APPID}")
        marker = 'name="csrf-token" content="'
        start = page.text.index(marker) + len(marker)
        return page.text[start : page.text.index('"', start)]


async def _seed(directory: Directory) -> None:
    roles = {"ada": ("admin", "*"), "rita": ("reviewer", APPID), "otto": ("campaign_operator", APPID)}
    for name, (role, appid) in roles.items():
        await directory.create_operator(CLI_ACTOR, name, password=PASSWORDS[name])
        await directory.grant(CLI_ACTOR, name, role, appid)


@pytest.fixture
async def console(request: pytest.FixtureRequest) -> AsyncIterator[ConsoleUnderTest]:
    extra: dict[str, Any] = getattr(request, "param", {})
    directory = cheap_directory()
    await _seed(directory)
    accounts = [{"appid": APPID, "name": "贝贝母婴"}, {"appid": "wx2", "name": ""}]
    async with console_client(directory, official_accounts=accounts, **extra) as client:
        yield ConsoleUnderTest(client, directory)
