"""The profiles apps: the shared service shell around this service's routers, in two processes.

``create_app`` is the operator API (profiles, ops tags, surveys), kept internal; ``create_public_app``
serves what members' browsers and the mall reach (the H5 pages and the signed mall webhook), so a
deployment can expose the one and not the other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from services.profiles.bootstrap import Profiles, bootstrap
from services.profiles.domain.mall_webhook import SignatureRejected
from services.profiles.domain.surveys import SurveyClosed
from services.profiles.entrypoints.http import coverage, h5, mall, profiles, surveys
from services.profiles.service_layer.mall_webhook import EventsNotStored, EventsRejected
from services.profiles.service_layer.profile_ops import NoProfile, NoSuchTag, NotFollowing
from services.profiles.service_layer.surveys import SurveyNotFound
from services.profiles.settings import ProfilesSettings
from shared.identity import IdentityConfig, mongo_identity
from shared.web import create_service_app

__all__ = ["create_app", "create_public_app"]


def _check(name: str) -> Callable[[Profiles], Any]:
    return lambda service: service.readiness[name]()


def create_app(
    settings: ProfilesSettings,
    *,
    clock: Callable[[], datetime] | None = None,
    identity: IdentityConfig | None = None,
    **overrides: Any,
) -> FastAPI:
    """The operator API. ``overrides`` go to :func:`bootstrap` (tests: a publisher fake, no WeChat
    clients); ``identity`` defaults to the operators in MongoDB (tests: ``tests.identities.Callers``)."""
    return create_service_app(
        settings,
        title="SCRM profiles API",
        summary="Maternal-infant member profiles: mall events, life stage, tags.",
        version="0.1.0",
        # The API sends survey results to members: it holds the accounts' WeChat clients too.
        bootstrap=lambda: bootstrap(settings, **({"messaging": True} | overrides)),
        readiness={"mongodb": _check("mongodb"), "kafka": _check("kafka")},
        operator_routers=[profiles.router, coverage.router, surveys.router],
        openapi_tags=[
            {"name": profiles.TAG, "description": "Profiles, their history, and ops tags."},
            {"name": surveys.TAG, "description": "Surveys whose answers become tags, with one lottery draw each."},
        ],
        errors={NoProfile: 404, NotFollowing: 404, NoSuchTag: 404, SurveyNotFound: 404, SurveyClosed: 409},
        clock=clock,
        identity=identity or mongo_identity(settings),
    )


def create_public_app(
    settings: ProfilesSettings, *, clock: Callable[[], datetime] | None = None, **overrides: Any
) -> FastAPI:
    """The public face: the H5 pages (signed links) and the mall webhook (signed calls); no operator
    route. Its ``/docs`` stay open: they describe only these endpoints. ``overrides`` as for
    :func:`create_app`."""
    return create_service_app(
        settings,
        title="SCRM profiles public endpoints",
        summary="The signed mall webhook and the H5 pages members open from WeChat.",
        version="0.1.0",
        # A submitted survey sends its lottery result to the member: the WeChat clients are needed here.
        bootstrap=lambda: bootstrap(settings, **({"messaging": True} | overrides)),
        readiness={"mongodb": _check("mongodb"), "kafka": _check("kafka")},
        public_routers=[mall.router, h5.router],
        # Shop events are read by their routes under MALL_MAX_BODY_BYTES.
        self_limited_bodies=[r"/events/mall(/bulk)?"],
        openapi_tags=[
            {"name": mall.TAG, "description": "Signed shop events: views, carts, orders, refunds."},
            {"name": h5.TAG, "description": "Pages members open from WeChat through a signed link."},
        ],
        errors={
            SignatureRejected: 401,
            NoProfile: 404,
            NoSuchTag: 404,
            SurveyNotFound: 404,
            SurveyClosed: 409,
            EventsNotStored: 503,
        },
        exception_handlers={
            EventsRejected: mall.events_rejected,
            RequestValidationError: h5.refuse_invalid_request,
        },
        clock=clock,
    )
