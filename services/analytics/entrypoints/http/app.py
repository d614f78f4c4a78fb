"""The analytics API app: operator routes only (``stats:view`` on the account), kept internal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI

from services.analytics.bootstrap_api import AnalyticsApi, bootstrap_api
from services.analytics.entrypoints.http import dashboards
from services.analytics.settings import AnalyticsSettings
from shared.identity import IdentityConfig, mongo_identity
from shared.web import create_service_app

__all__ = ["create_app"]


async def _mongodb(service: AnalyticsApi) -> None:
    await service.ready()


def create_app(
    settings: AnalyticsSettings,
    *,
    clock: Callable[[], datetime] | None = None,
    identity: IdentityConfig | None = None,
    **overrides: Any,
) -> FastAPI:
    """``overrides`` go to :func:`bootstrap_api` (tests: an in-memory ``reader``); ``clock`` decides what
    "today" is (tests). Routes check ``identity`` (the operators in the settings' MongoDB unless given)."""
    if clock is not None:
        overrides["clock"] = clock
    return create_service_app(
        settings,
        title="SCRM analytics API",
        summary="Dashboards over the daily rollups: overview, campaign funnels, screenshots, pushes, projects.",
        version="0.1.0",
        bootstrap=lambda: bootstrap_api(settings, **overrides),
        readiness={"mongodb": _mongodb},
        operator_routers=[dashboards.router],
        openapi_tags=[{"name": dashboards.TAG, "description": dashboards.DESCRIPTION}],
        clock=clock,
        identity=identity or mongo_identity(settings),
    )
