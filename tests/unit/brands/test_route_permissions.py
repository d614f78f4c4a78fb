"""Deny by default: the brands API's route table with the permission each route declares (what the
console builds on); the walk in tests/integration/shared/test_every_operator_route.py checks they hold."""

from __future__ import annotations

from fastapi.routing import APIRoute

from services.brands.entrypoints.http import brands, business, deals, projects, teams

VIEW, EDIT, ASSIGN, MANAGE, COMPOSE = "brand:view", "brand:edit", "brand:assign", "operator:manage", "push:compose"

EXPECTED = {
    ("GET", "/teams"): VIEW,
    ("POST", "/teams"): MANAGE,
    ("GET", "/teams/{team_id}"): VIEW,
    ("PATCH", "/teams/{team_id}"): MANAGE,
    ("DELETE", "/teams/{team_id}"): MANAGE,
    ("GET", "/managers"): VIEW,
    ("GET", "/brands"): VIEW,
    ("POST", "/brands"): EDIT,
    ("GET", "/brands/{brand_id}"): VIEW,
    ("PATCH", "/brands/{brand_id}"): EDIT,
    ("POST", "/brands/{brand_id}/handover"): ASSIGN,
    ("GET", "/brands/{brand_id}/projects"): VIEW,
    ("POST", "/brands/{brand_id}/projects"): EDIT,
    ("GET", "/projects"): VIEW,
    ("GET", "/projects/{project_id}"): VIEW,
    ("PATCH", "/projects/{project_id}"): EDIT,
    ("GET", "/projects/{project_id}/progress"): VIEW,
    ("GET", "/projects/{project_id}/value-report"): VIEW,
    ("GET", "/accounts/{appid}/projects"): COMPOSE,
    ("GET", "/deals"): VIEW,
    ("POST", "/deals"): EDIT,
    ("GET", "/deals/{deal_id}"): VIEW,
    ("POST", "/deals/{deal_id}/stage"): EDIT,
    ("GET", "/payments"): VIEW,
    ("POST", "/payments"): EDIT,
    ("POST", "/payments/{payment_id}/received"): EDIT,
    ("GET", "/business"): VIEW,
}


def _declared(route: APIRoute) -> list[str]:
    """The permissions of the ``require(...)`` checks among the route's dependencies (named ``require_<x>``)."""
    found, pending = [], list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        name = getattr(dependency.call, "__name__", "")
        if name.startswith("require_"):
            found.append(name.removeprefix("require_").replace("_", ":", 1))
        pending.extend(dependency.dependencies)
    return found


def test_every_route_declares_its_permission() -> None:
    routers = [
        teams.router,
        teams.managers,
        brands.router,
        projects.router,
        projects.account_router,
        deals.deals,
        deals.payments,
    ]
    found = {
        (method, route.path): _declared(route)
        for router in [*routers, business.router]
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in sorted(set(route.methods or ()) - {"HEAD"})
    }
    assert found == {route: [permission] for route, permission in EXPECTED.items()}
