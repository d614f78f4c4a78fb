"""The brands operator API (process ``brands``, kept internal). Domain refusals become their HTTP
statuses here: unknown or out-of-scope records 404, name and version conflicts and illegal deal moves
409, input the rules refuse 422 naming the field."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.brands.bootstrap import bootstrap
from services.brands.domain.model import IllegalStageMove, Invalid, NameTaken, NotFound, VersionConflict
from services.brands.entrypoints.http import brands, business, deals, projects, teams
from services.brands.settings import BrandsSettings
from shared.identity import IdentityConfig, mongo_identity
from shared.web import create_service_app

__all__ = ["create_app"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def _invalid(request: Request, exc: Invalid) -> JSONResponse:
    detail = [{"loc": ["body", exc.field], "msg": str(exc), "type": "value_error"}]
    return JSONResponse({"detail": detail}, status_code=422)


def create_app(
    settings: BrandsSettings,
    *,
    clock: Callable[[], datetime] | None = None,
    identity: IdentityConfig | None = None,
    **overrides: Any,
) -> FastAPI:
    """``overrides`` go to :func:`bootstrap` (tests: ``uow=`` an in-memory unit of work)."""
    return create_service_app(
        settings,
        title="SCRM brands API",
        summary="Brands, projects, deals, payments, teams, project progress and the business view.",
        version="0.1.0",
        bootstrap=lambda: bootstrap(settings, **overrides),
        readiness={"mongodb": lambda service: service.ready()},
        operator_routers=[
            teams.router,
            teams.managers,
            brands.router,
            projects.router,
            projects.account_router,
            deals.deals,
            deals.payments,
            business.router,
        ],
        openapi_tags=[
            {"name": teams.TAG, "description": "Sales heads and their account managers."},
            {"name": brands.TAG, "description": "Brands, tiers, inactivity and hand-over."},
            {"name": projects.TAG, "description": "Projects, progress and value reports."},
            {"name": deals.DEALS, "description": "The deal funnel."},
            {"name": deals.PAYMENTS, "description": "Payments due and received."},
            {"name": business.TAG, "description": "The business view."},
        ],
        errors={NotFound: 404, NameTaken: 409, VersionConflict: 409, IllegalStageMove: 409},
        exception_handlers={Invalid: _invalid},
        max_body_bytes=settings.max_body_bytes,
        clock=clock or _utc_now,
        identity=identity or mongo_identity(settings),
    )
