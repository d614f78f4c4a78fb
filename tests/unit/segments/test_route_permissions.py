"""Deny by default: every operator route of the segments API declares the permission it needs, and the
only routes without one are the public click redirect and the built-in instrumentation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from services.segments.entrypoints.http import clicks, consents, create_app, pushes, segments
from services.segments.settings import SegmentsSettings
from tests.identities import Callers

PUBLIC = {"/r/{token}"}

EXPECTED = {
    ("POST", "/accounts/{appid}/segments/preview"): {"segment:view"},
    ("POST", "/accounts/{appid}/segments"): {"segment:edit"},
    ("GET", "/accounts/{appid}/segments"): {"segment:view"},
    ("GET", "/accounts/{appid}/segments/{segment_id}"): {"segment:view"},
    ("PUT", "/accounts/{appid}/segments/{segment_id}"): {"segment:edit"},
    ("DELETE", "/accounts/{appid}/segments/{segment_id}"): {"segment:edit"},
    ("GET", "/accounts/{appid}/segments/{segment_id}/versions"): {"segment:view"},
    ("GET", "/accounts/{appid}/segments/{segment_id}/preview"): {"segment:view"},
    ("GET", "/accounts/{appid}/segments/{segment_id}/members/{openid}"): {"segment:view", "member:view"},
    # push:send is checked inside unless the body asks for a draft (test_a_draft_needs_compose_only).
    ("POST", "/accounts/{appid}/pushes"): {"push:compose"},
    ("PATCH", "/accounts/{appid}/pushes/{push_id}"): {"push:compose"},
    ("DELETE", "/accounts/{appid}/pushes/{push_id}"): {"push:compose"},
    ("POST", "/accounts/{appid}/pushes/{push_id}/send"): {"push:send"},
    ("GET", "/accounts/{appid}/pushes/{push_id}/eligibility"): {"push:view"},
    ("POST", "/accounts/{appid}/pushes/eligibility"): {"push:view"},
    ("POST", "/accounts/{appid}/pushes/{push_id}/test-send"): {"push:compose"},
    ("POST", "/accounts/{appid}/pushes/test-send"): {"push:compose"},
    ("GET", "/accounts/{appid}/push-testers"): {"push:view"},
    ("PUT", "/accounts/{appid}/push-testers"): {"push:compose"},
    ("GET", "/accounts/{appid}/members/{openid}/pushes"): {"push:view"},
    ("GET", "/accounts/{appid}/members/{openid}/subscriptions"): {"push:view"},
    ("GET", "/accounts/{appid}/segments/{segment_id}/usage"): {"segment:view"},
    ("GET", "/accounts/{appid}/pushes"): {"push:view"},
    ("GET", "/accounts/{appid}/pushes/{push_id}"): {"push:view"},
    ("POST", "/accounts/{appid}/pushes/{push_id}/pause"): {"push:send"},
    ("POST", "/accounts/{appid}/pushes/{push_id}/resume"): {"push:send"},
    ("POST", "/accounts/{appid}/pushes/{push_id}/cancel"): {"push:send"},
    ("GET", "/accounts/{appid}/pushes/{push_id}/deliveries"): {"push:view"},
}


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _permissions(route: APIRoute) -> set[str]:
    """The permissions of the route's ``require(...)`` dependencies (named ``require_<permission>``)."""
    names = {getattr(call, "__name__", "") for call in _calls(route.dependant)}
    return {name.removeprefix("require_").replace("_", ":", 1) for name in names if name.startswith("require_")}


def _operator_routes() -> dict[tuple[str, str], APIRoute]:
    return {
        (method, route.path): route
        for router in (segments.router, pushes.router, pushes.account_router, consents.router)
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }


def test_every_operator_route_declares_the_permission_it_needs() -> None:
    declared = {key: _permissions(route) for key, route in _operator_routes().items()}
    assert declared == EXPECTED


def test_the_public_router_needs_no_identity() -> None:
    routes = [r for r in clicks.router.routes if isinstance(r, APIRoute)]
    assert {r.path for r in routes} == PUBLIC
    assert all(not _permissions(r) for r in routes)


def test_the_app_serves_no_route_outside_those_two_lists() -> None:
    settings = SegmentsSettings(environment="development")
    app = create_app(settings, identity=Callers.on("wx1").config, follow_changes=False)
    served = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if path not in PUBLIC and path not in {"/healthz", "/readyz", "/metrics"}
    }
    assert served == set(EXPECTED)
