"""The console over the real identity API, both in process (httpx's ASGI transport, no sockets): the
sign-in, the session and the CSRF token are the identity service's own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from services.console.adapters import HttpOperatorApis
from services.console.entrypoints.http import create_app
from services.console.service_layer.ports import Api
from services.console.settings import ConsoleSettings
from services.identity.entrypoints.http import create_app as create_identity_app
from services.identity.settings import IdentitySettings
from shared.identity import CLI_ACTOR, Directory
from tests.identities import cheap_directory

APPID = "wx1"
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
    identity = create_identity_app(IdentitySettings(environment="development"), directory=directory)
    async with identity.router.lifespan_context(identity):
        apis = HttpOperatorApis(
            {api: f"http://{api.value}.test" for api in Api},
            transports={Api.IDENTITY: httpx.ASGITransport(app=identity)},
        )
        settings = ConsoleSettings(
            environment="development",
            official_accounts=[{"appid": APPID, "name": "贝贝母婴"}, {"appid": "wx2", "name": ""}],
            **extra,
        )
        app = create_app(settings, apis=apis)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://console.test") as client:
                yield ConsoleUnderTest(client, directory)
        await apis.aclose()
