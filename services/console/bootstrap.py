"""The console's composition root: the operator APIs and the catalogs (tests pass their own APIs)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from services.console.adapters import Catalogs, HttpOperatorApis
from services.console.service_layer.ports import Api, OperatorApis
from services.console.settings import ConsoleSettings

__all__ = ["ConsoleService", "bootstrap"]


@dataclass(frozen=True)
class ConsoleService:
    settings: ConsoleSettings
    apis: OperatorApis
    catalogs: Catalogs


def api_urls(settings: ConsoleSettings) -> dict[Api, str]:
    return {
        Api.IDENTITY: settings.identity_api_url,
        Api.CAMPAIGNS: settings.campaigns_api_url,
        Api.MEMBERS: settings.members_api_url,
        Api.PROFILES: settings.profiles_api_url,
        Api.SEGMENTS: settings.segments_api_url,
        Api.ANALYTICS: settings.analytics_api_url,
        Api.BRANDS: settings.brands_api_url,
    }


@asynccontextmanager
async def bootstrap(
    settings: ConsoleSettings, catalogs: Catalogs, *, apis: OperatorApis | None = None
) -> AsyncIterator[ConsoleService]:
    if apis is not None:
        yield ConsoleService(settings, apis, catalogs)
        return
    http = HttpOperatorApis(api_urls(settings), timeout=settings.api_timeout_seconds)
    try:
        yield ConsoleService(settings, http, catalogs)
    finally:
        await http.aclose()
