"""Deny by default: every route of the members API (all operator routes) needs ``member:view``."""

from __future__ import annotations

from fastapi.routing import APIRoute

from services.members.entrypoints.http import router
from shared.identity import Permission
from tests.unit.profiles.test_route_permissions import required


def test_every_members_route_needs_member_view() -> None:
    routes = [route for route in router.routes if isinstance(route, APIRoute)]
    assert {route.path for route in routes} == {
        "/accounts/{appid}/members",
        "/accounts/{appid}/members/{openid}",
        "/accounts/{appid}/member-counts",
    }
    for route in routes:
        assert required(route) == {Permission.MEMBER_VIEW.name.lower()}, route.path
