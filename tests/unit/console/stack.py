"""The console over the platform's real API apps, all in process (httpx's ASGI transport, no sockets).

``console_site`` enters every app's lifespan, wires the console's operator APIs to them and yields the
console's transport; ``console_client`` yields a client on it. The identity API is always there (over
the test's in-memory directory), so signing in, sessions and CSRF are the identity service's own; tests
add the APIs their pages call (built with ``identity_config(directory)`` so both share the operators).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from services.console.adapters import HttpOperatorApis
from services.console.entrypoints.http import create_app
from services.console.service_layer.ports import Api
from services.console.settings import ConsoleSettings
from services.identity.entrypoints.http import create_app as create_identity_app
from services.identity.settings import IdentitySettings
from shared.identity import Directory

__all__ = ["APPID", "CONSOLE_URL", "console_client", "console_site"]

APPID = "wx1"
CONSOLE_URL = "http://console.test"
ACCOUNTS = [{"appid": APPID, "name": "贝贝母婴"}]
Mounted = FastAPI | httpx.AsyncBaseTransport


def _unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("not mounted in this test", request=request)


@asynccontextmanager
async def console_site(
    directory: Directory, apps: Mapping[Api, Mounted] | None = None, **settings: Any
) -> AsyncIterator[httpx.ASGITransport]:
    """``apps``: an API's app, or a transport that answers for it (``httpx.MockTransport``);
    ``settings``: ConsoleSettings fields beyond the defaults (development, the account ``wx1``)."""
    mounted: dict[Api, Mounted] = {
        Api.IDENTITY: create_identity_app(IdentitySettings(environment="development"), directory=directory)
    }
    mounted |= dict(apps or {})
    async with AsyncExitStack() as stack:
        transports: dict[Api, httpx.AsyncBaseTransport] = {}
        for api, app in mounted.items():
            if isinstance(app, FastAPI):
                await stack.enter_async_context(app.router.lifespan_context(app))
                transports[api] = httpx.ASGITransport(app=app)
            else:
                transports[api] = app
        for api in Api:
            # An API the test did not mount is down (at once, without asking the network's resolver).
            transports.setdefault(api, httpx.MockTransport(_unreachable))
        apis = HttpOperatorApis({api: f"http://{api.value}.test" for api in Api}, transports=transports)
        stack.push_async_callback(apis.aclose)
        console = create_app(
            ConsoleSettings(**{"environment": "development", "official_accounts": ACCOUNTS, **settings}), apis=apis
        )
        await stack.enter_async_context(console.router.lifespan_context(console))
        yield httpx.ASGITransport(app=console)


@asynccontextmanager
async def console_client(
    directory: Directory, apps: Mapping[Api, Mounted] | None = None, *, locale: str | None = None, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client of the console (cookies kept); ``locale="en"`` starts it in English."""
    async with (
        console_site(directory, apps, **settings) as transport,
        httpx.AsyncClient(transport=transport, base_url=CONSOLE_URL) as client,
    ):
        if locale:
            client.cookies.set("scrm_lang", locale)
        yield client
