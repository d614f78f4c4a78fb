"""The segments apps put together, in two processes: ``create_app`` is the operator API (segments and
pushes; the live index and the audience freezer run inside it, see
:func:`~services.segments.bootstrap.bootstrap_api`), kept internal; ``create_public_app`` serves only
the signed click redirect members' browsers follow. Domain refusals become their HTTP statuses here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.segments.bootstrap import SegmentsService, bootstrap_api, bootstrap_public
from services.segments.domain.pushes import IllegalTransition, PushInvalid, PushNotFound
from services.segments.domain.rules import RuleInvalid
from services.segments.domain.segments import SegmentNameTaken, SegmentNotFound, SegmentVersionConflict
from services.segments.entrypoints.http import clicks, consents, pushes, segments
from services.segments.service_layer.pushes import PushVersionConflict, SegmentInUse, SendingUnavailable
from services.segments.service_layer.segments import MemberNotFound
from services.segments.settings import SegmentsSettings
from shared.identity import IdentityConfig, mongo_identity
from shared.web import create_service_app

__all__ = ["create_app", "create_public_app"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def _rule_invalid(request: Request, exc: RuleInvalid) -> JSONResponse:
    """Each problem of a rule, located in the request body like pydantic's own errors."""
    detail = [
        {"loc": ["body", "rule", *p.path.split(".")[1:]], "msg": p.message, "type": "rule_invalid", "path": p.path}
        for p in exc.problems[:100]
    ]
    return JSONResponse({"detail": detail}, status_code=422)


async def _mongodb(service: SegmentsService) -> None:
    await service.readiness["mongodb"]()


def create_app(
    settings: SegmentsSettings,
    *,
    clock: Callable[[], datetime] | None = None,
    identity: IdentityConfig | None = None,
    **overrides: Any,
) -> FastAPI:
    """The operator API. ``overrides`` go to :func:`bootstrap_api` (tests: ``follow_changes=False``).
    Operator routes check ``identity`` (the operators in the settings' MongoDB unless given; tests pass
    their own)."""
    now = clock or _utc_now
    return create_service_app(
        settings,
        title="SCRM segments API",
        summary="Member segments over profiles and tags, and targeted pushes within WeChat's rules.",
        version="0.1.0",
        bootstrap=lambda: bootstrap_api(settings, clock=now, **overrides),
        readiness={"mongodb": _mongodb},
        operator_routers=[segments.router, pushes.router, pushes.account_router, consents.router],
        openapi_tags=[
            {"name": segments.TAG, "description": "Rules, versions, previews, explanations."},
            {"name": pushes.TAG, "description": "Targeted pushes: content, schedule, delivery, stats."},
        ],
        errors={
            SegmentNotFound: 404,
            PushNotFound: 404,
            MemberNotFound: 404,
            SegmentNameTaken: 409,
            SegmentVersionConflict: 409,
            IllegalTransition: 409,
            PushVersionConflict: 409,
            SegmentInUse: 409,
            SendingUnavailable: 409,
            PushInvalid: 422,
        },
        exception_handlers={RuleInvalid: _rule_invalid},
        max_body_bytes=settings.max_body_bytes,
        clock=now,
        identity=identity or mongo_identity(settings),
    )


def create_public_app(settings: SegmentsSettings, *, clock: Callable[[], datetime] | None = None) -> FastAPI:
    """The public face: the signed click redirect ``/r/{token}`` and nothing else (no live index is built).
    Its ``/docs`` stay open: they describe only that endpoint."""
    now = clock or _utc_now
    return create_service_app(
        settings,
        title="SCRM click redirects",
        summary="Signed redirects in pushed links: count the click, go on to the destination.",
        version="0.1.0",
        bootstrap=lambda: bootstrap_public(settings, clock=now),
        readiness={"mongodb": _mongodb},
        public_routers=[clicks.router],
        openapi_tags=[{"name": clicks.TAG, "description": "Signed redirects in pushed links."}],
        errors={PushNotFound: 404},
        max_body_bytes=settings.max_body_bytes,
        clock=now,
    )
