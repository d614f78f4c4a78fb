"""Every route of every operator app is guarded: found from the process table and the apps' own route
tables, so neither a new app nor a new route can be left out.

For each route behind the identity check: no credentials is 401; an admin of another account is 403 (or
404); a role without the route's permission is 403; an admin of the account gets past the guard. A route
behind the check that declares no permission fails the test (deny by default).
"""

from __future__ import annotations

import asyncio
import importlib
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from scrm.processes import PROCESSES, ProcessSpec
from shared.identity import ALL_ACCOUNTS, CLI_ACTOR, ROLE_PERMISSIONS, Permission, Role, resolve_identity
from tests.accounts import account
from tests.identities import Callers
from tests.integration.conftest import LoadSettings

pytestmark = pytest.mark.integration

APPID = "wx1"
#: What each app needs besides the test's infrastructure (secrets have no usable default outside development).
EXTRA: dict[str, dict[str, Any]] = {
    "profiles-api": {"mall_webhook_secret": "mall-webhook-for-tests", "h5_link_secret": "h5-links-for-tests-0"},
    "segments-api": {"click_link_secret": "click-links-for-tests-0"},
}
#: Routes any signed-in caller may use on themselves (their own session, password and name).
SELF_SERVICE = {("identity-api", "POST", "/auth/logout"), ("identity-api", "POST", "/auth/password")}
SELF_SERVICE |= {("identity-api", "GET", "/auth/me")}
#: Routes that check their permission per account inside (the audit log answers for the accounts the
#: caller holds ``audit:view`` on, and refuses a caller who holds it on none).
CHECKED_INSIDE = {("identity-api", "GET", "/audit"): [Permission.AUDIT_VIEW]}
#: Apps built with the identity check (public apps, the gateway and the simulator are not operator apps;
#: the console holds no data and checks nothing itself: it calls these APIs as the signed-in operator).
OPERATOR_APPS = sorted(
    spec.name
    for spec in PROCESSES.values()
    if spec.kind == "http"
    and spec.name not in {"gateway", "wechat-sim", "console"}
    and not spec.name.endswith("-public")
)


def _load(path: str) -> Any:
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _app(spec: ProcessSpec, settings: Any, callers: Callers) -> FastAPI:
    factory = _load(spec.factory)
    if spec.name == "identity-api":
        app: FastAPI = factory(settings, directory=callers.directory)
    elif spec.name == "segments-api":
        app = factory(settings, identity=callers.config, follow_changes=False)
    else:
        app = factory(settings, identity=callers.config)
    return app


def _requires(route: APIRoute) -> list[Permission]:
    found: list[Permission] = []
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        name = getattr(dependency.call, "__name__", "")
        if name.startswith("require_"):
            found.append(Permission[name.removeprefix("require_").upper()])
        pending.extend(dependency.dependencies)
    return found


def operator_routes(app: FastAPI) -> list[tuple[str, str, list[Permission]]]:
    """(method, path, permissions) of every route the app serves behind the identity check."""
    routes: list[tuple[str, str, list[Permission]]] = []
    for included in app.routes:
        context = getattr(included, "include_context", None)
        if context is None or not any(d.dependency is resolve_identity for d in context.dependencies):
            continue
        for route in included.original_router.routes:  # type: ignore[attr-defined]
            if isinstance(route, APIRoute):
                for method in sorted(set(route.methods or ()) - {"HEAD"}):
                    routes.append((method, context.prefix + route.path, _requires(route)))
    return routes


def _concrete(path: str) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: APPID if m.group(1) == "appid" else "x1", path)


def _lacking(permissions: list[Permission]) -> Role | None:
    return next((role for role in Role if not set(permissions) <= set(ROLE_PERMISSIONS[role])), None)


@pytest.fixture(scope="module")
def callers() -> Callers:
    return Callers.on(APPID)


@pytest.fixture(scope="module")
def global_admin(callers: Callers) -> dict[str, str]:
    """An admin of every account: who may use the routes that name no account (operators, tokens)."""

    async def make() -> str:
        await callers.directory.create_operator(CLI_ACTOR, "global-admin", password=None, kind="service")
        await callers.directory.grant(CLI_ACTOR, "global-admin", Role.ADMIN.value, ALL_ACCOUNTS)
        token, _ = await callers.directory.create_token(CLI_ACTOR, "global-admin", label="test")
        return token

    return {"Authorization": f"Bearer {asyncio.run(make())}"}


@pytest.fixture(params=OPERATOR_APPS)
def operator_app(
    request: pytest.FixtureRequest, service_settings: LoadSettings, callers: Callers
) -> Iterator[tuple[str, TestClient]]:
    spec = PROCESSES[request.param]
    settings = service_settings(_load(spec.settings), wechat_accounts=[account(APPID)], **EXTRA.get(spec.name, {}))
    with TestClient(_app(spec, settings, callers), raise_server_exceptions=False) as client:
        yield spec.name, client


def test_every_operator_route_checks_identity_and_its_permission(
    operator_app: tuple[str, TestClient], callers: Callers, global_admin: dict[str, str]
) -> None:
    name, client = operator_app
    routes = [
        (method, path, permissions or CHECKED_INSIDE.get((name, method, path), []))
        for method, path, permissions in operator_routes(client.app)  # type: ignore[arg-type]
    ]
    assert routes, f"{name} serves no operator route behind the identity check"
    undeclared = [
        (method, path)
        for method, path, permissions in routes
        if not permissions and (name, method, path) not in SELF_SERVICE
    ]
    assert not undeclared, f"{name}: operator routes without a declared permission: {undeclared}"
    for method, template, permissions in routes:
        path = _concrete(template)
        where = f"{name} {method} {template}"
        assert client.request(method, path).status_code == 401, where
        if (name, method, template) in SELF_SERVICE:
            continue
        if (name, method, template) not in CHECKED_INSIDE:  # those answer for the caller's own accounts
            other = client.request(method, path, headers=callers.headers_other_account()).status_code
            assert other in {403, 404}, f"{where}: another account's admin got {other}"
        lacking = _lacking(permissions)
        if lacking is not None:
            refused = client.request(method, path, headers=callers.headers(lacking)).status_code
            assert refused == 403, f"{where}: {lacking.value} (without {permissions}) got {refused}"
        admin = callers.headers(Role.ADMIN) if "{appid}" in template else global_admin
        allowed = client.request(method, path, headers=admin).status_code
        assert allowed not in {401, 403}, f"{where}: an admin of the account got {allowed}"
