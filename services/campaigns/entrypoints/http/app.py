"""The campaign management API (the console and ops scripts use it), put together by the app factory.

Errors: a payload that breaks a rule is 422 naming the field (pydantic's shape, also for the rules the
domain checks), and so is an activation with something missing (every problem at once, also as
``problems: [{field, problem}]``); an unknown campaign or submission is 404; a move or change the
campaign's status does not allow, or a write based on a stale version, is 409 with the reason.

Identity: every route needs an operator (401 without a session or token) holding the route's
permission on the path's account (403 otherwise); writes, exports and review decisions are audited.
Viewing needs ``campaign:view`` (stats and the leaderboard ``stats:view``), editing definitions,
templates and reward codes ``campaign:edit``, the lifecycle moves and the join QR code
``campaign:launch``, the participants CSV and the issued codes ``member:export``, and the review
queue's evidence, pictures and decisions ``review:decide``, its export as a labelled set
``screenshot:export``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.campaigns.adapters.posters import PosterError
from services.campaigns.bootstrap_api import CampaignsApi, bootstrap
from services.campaigns.domain.campaign import (
    ActivationBlocked,
    CampaignInvalid,
    EditNotAllowed,
    IllegalTransition,
    VersionConflict,
)
from services.campaigns.domain.flag_reviews import ReviewRefused
from services.campaigns.domain.submissions import ClaimHeld
from services.campaigns.entrypoints.http import (
    campaigns,
    graph,
    payouts,
    pools,
    results,
    review,
    review_export,
    templates,
    variants,
)
from services.campaigns.service_layer.graph import AlreadyFrozen, FlagNotFound, NotFrozen
from services.campaigns.service_layer.management import CampaignNotFound
from services.campaigns.service_layer.ports import UnknownAccount
from services.campaigns.service_layer.previews import NoPosterTemplate
from services.campaigns.service_layer.results import JoinCodeUnavailable
from services.campaigns.service_layer.review import NotInReview, PictureNotKept, SubmissionNotFound, UnknownReason
from services.campaigns.service_layer.variants import VariantNotFound
from services.campaigns.settings import CampaignsSettings
from shared.identity import IdentityConfig, mongo_identity
from shared.web import create_service_app

__all__ = ["create_app"]

_TAGS = [
    {"name": campaigns.TAG, "description": "Define campaigns and move them through their lifecycle."},
    {"name": templates.TAG, "description": "The poster background and where the QR code goes."},
    {"name": pools.TAG, "description": "Coupon codes the invite tiers grant; never oversold."},
    {"name": results.TAG, "description": "The campaign's join QR code, stats, leaderboard and export."},
    {"name": review.TAG, "description": "Share-screenshot decisions and the human review queue."},
    {"name": variants.TAG, "description": "Poster A/B variants: extra templates, weights, conversion per variant."},
    {"name": graph.TAG, "description": "Who invited whom across campaigns, patterns flagged, inviters frozen."},
    {"name": payouts.TAG, "description": "Delayed share-reward payouts and their re-checks."},
]


def create_app(
    settings: CampaignsSettings,
    *,
    clock: Callable[[], datetime] | None = None,
    identity: IdentityConfig | None = None,
) -> FastAPI:
    """The campaign management API. ``clock`` (tests) replaces the wall clock for status moves;
    ``identity`` (tests) replaces the operators in the settings' MongoDB, which are always checked."""
    return create_service_app(
        settings,
        title="SCRM campaigns API",
        summary="Share-poster referral campaigns (任务宝): definitions, poster templates and reward pools.",
        version="0.1.0",
        bootstrap=lambda: bootstrap(settings),
        readiness={"mongodb": _mongodb_ready},
        # Every route here is an operator's: no public, signed endpoint.
        # review_export before review: its /screenshots/export would be read as a submission id there.
        operator_routers=[
            campaigns.router,
            templates.router,
            pools.router,
            results.router,
            review_export.router,
            review.router,
            variants.router,
            graph.router,
            payouts.router,
        ],
        openapi_tags=_TAGS,
        errors={
            CampaignNotFound: 404,
            NoPosterTemplate: 404,
            # A saved template that cannot be drawn (its image changed under it, a QR box too small).
            PosterError: 409,
            SubmissionNotFound: 404,
            PictureNotKept: 404,
            UnknownAccount: 404,
            IllegalTransition: 409,
            EditNotAllowed: 409,
            VersionConflict: 409,
            JoinCodeUnavailable: 409,
            NotInReview: 409,
            VariantNotFound: 404,
            AlreadyFrozen: 409,
            NotFrozen: 409,
            FlagNotFound: 404,
            ReviewRefused: 409,
        },
        exception_handlers={
            CampaignInvalid: _invalid,
            UnknownReason: _unknown_reason,
            ClaimHeld: _claim_held,
            ActivationBlocked: _activation_blocked,
        },
        # Poster templates and code CSVs are read by their routes under their own, larger limits.
        self_limited_bodies=[
            r"/accounts/[^/]+/campaigns/[^/]+/(template|variants/[^/]+/template|reward-pools/[^/]+/codes)"
        ],
        clock=clock,
        identity=identity or mongo_identity(settings),
    )


async def _mongodb_ready(api: CampaignsApi) -> None:
    await api.ready()


async def _invalid(request: Request, exc: CampaignInvalid) -> JSONResponse:
    """A domain rule broken: answered like pydantic's own 422, naming the field in the body."""
    loc = [int(part) if part.isdigit() else part for part in exc.field.split(".")]
    return JSONResponse({"detail": [{"type": "value_error", "loc": ["body", *loc], "msg": exc.message}]}, 422)


async def _activation_blocked(request: Request, exc: ActivationBlocked) -> JSONResponse:
    """Every reason the campaign cannot start, at once: as field errors (``detail``, pydantic's shape,
    located on the campaign's field) and as the plain ``problems`` list."""
    problems = [{"field": p.field, "problem": p.problem} for p in exc.problems]
    detail = [{"type": "activation", "loc": ["campaign", *_loc(p.field)], "msg": p.problem} for p in exc.problems]
    return JSONResponse({"detail": detail, "problems": problems}, 422)


def _loc(field: str) -> list[int | str]:
    return [int(part) if part.isdigit() else part for part in field.split(".")]


async def _unknown_reason(request: Request, exc: UnknownReason) -> JSONResponse:
    return JSONResponse({"detail": [{"loc": ["query", "reason"], "msg": "unknown reason code"}]}, 422)


async def _claim_held(request: Request, exc: ClaimHeld) -> JSONResponse:
    """409 naming the reviewer who holds the submission, and until when."""
    claim = exc.claim
    held = {"by": {"id": claim.holder_id, "name": claim.holder_name}, "until": claim.until.isoformat()}
    return JSONResponse({"detail": str(exc), "claim": {"submission_id": exc.submission, **held}}, 409)
