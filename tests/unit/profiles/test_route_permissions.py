"""Deny by default: every operator route of the profiles API declares the permission it needs.

Walks the operator routers' own route tables, so a new route without a permission fails here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRoute

from services.profiles.entrypoints.http import coverage, profiles, surveys
from shared.identity import Permission

P = Permission

EXPECTED = {
    ("GET", "/accounts/{appid}/profiles/stats"): P.MEMBER_VIEW,
    ("GET", "/accounts/{appid}/profiles/taxonomy"): P.MEMBER_VIEW,
    ("GET", "/accounts/{appid}/profiles/coverage"): P.STATS_VIEW,
    ("GET", "/accounts/{appid}/members/{openid}/profile"): P.MEMBER_VIEW,
    ("GET", "/accounts/{appid}/members/{openid}/profile/history"): P.MEMBER_VIEW,
    ("GET", "/accounts/{appid}/members/{openid}/profile/reveal"): P.MEMBER_REVEAL_PII,
    ("GET", "/accounts/{appid}/members/{openid}/profile/history/reveal"): P.MEMBER_REVEAL_PII,
    ("POST", "/accounts/{appid}/members/{openid}/profile/tags"): P.PROFILE_EDIT,
    ("DELETE", "/accounts/{appid}/members/{openid}/profile/tags/{code}"): P.PROFILE_EDIT,
    ("POST", "/accounts/{appid}/surveys"): P.CAMPAIGN_EDIT,
    ("GET", "/accounts/{appid}/surveys/{survey_id}"): P.STATS_VIEW,
    ("POST", "/accounts/{appid}/surveys/{survey_id}/publish"): P.CAMPAIGN_EDIT,
    ("POST", "/accounts/{appid}/surveys/{survey_id}/close"): P.CAMPAIGN_EDIT,
    ("GET", "/accounts/{appid}/surveys/{survey_id}/link"): P.CAMPAIGN_EDIT,
}


def required(route: APIRoute) -> set[str]:
    """The ``require(...)`` checks among the route's dependencies, however deep."""

    def walk(dependant: Any) -> Iterator[str]:
        for sub in dependant.dependencies:
            name = getattr(sub.call, "__name__", "")
            if name.startswith("require_"):
                yield name.removeprefix("require_")
            yield from walk(sub)

    return set(walk(route.dependant))


def test_every_operator_route_declares_exactly_its_permission() -> None:
    declared = {
        (method, route.path): required(route)
        for router in (profiles.router, coverage.router, surveys.router)
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }
    assert declared == {route: {permission.name.lower()} for route, permission in EXPECTED.items()}
