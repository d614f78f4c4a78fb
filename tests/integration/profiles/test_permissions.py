"""Every operator route of the profiles API, from its routers' own route tables: no credentials → 401,
a role without the route's permission → 403, another account's admin → 403, a role with it → past the
guard. The public routers (mall webhook, H5 pages) need no operator."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from services.profiles.entrypoints.http import create_app, create_public_app, profiles, surveys
from services.profiles.settings import ProfilesSettings
from shared.identity import ROLE_PERMISSIONS, AuditQuery, Permission, Role
from shared.messaging import InMemoryEventPublisher
from tests.identities import Callers
from tests.integration.conftest import LoadSettings
from tests.unit.profiles.test_route_permissions import required

pytestmark = pytest.mark.integration

#: Values for path parameters (a missing object answers 404 past the guard, which passes).
VALUES = {"appid": "wx1", "openid": "o_mom", "survey_id": "s1", "code": "interest.toys"}


def guarded_routes(routers: Sequence[APIRouter]) -> list[tuple[str, str, Permission]]:
    """(method, concrete path, permission) for every route of ``routers``."""
    table = []
    for router in routers:
        for route in router.routes:
            assert isinstance(route, APIRoute)
            [name] = required(route)
            path = re.sub(r"\{(\w+)\}", lambda m: VALUES[m.group(1)], route.path)
            table += [(method, path, Permission[name.upper()]) for method in sorted(route.methods or ())]
    return table


def check_guards(client: TestClient, callers: Callers, routes: list[tuple[str, str, Permission]]) -> None:
    for method, path, permission in routes:
        where = f"{method} {path}"
        assert client.request(method, path).status_code == 401, where
        assert client.request(method, path, headers={"Authorization": "Bearer scrm_x_y"}).status_code == 401, where
        assert client.request(method, path, headers=callers.headers_other_account()).status_code == 403, where
        for role in Role:
            status = client.request(method, path, headers=callers.headers(role)).status_code
            if permission in ROLE_PERMISSIONS[role]:
                assert status not in (401, 403), f"{where} as {role}: {status}"
            else:
                assert status == 403, f"{where} as {role}: {status}"


@pytest.fixture
def client(service_settings: LoadSettings) -> Iterator[tuple[TestClient, Callers]]:
    settings = service_settings(
        ProfilesSettings, mall_webhook_secret="mall-webhook-for-tests", h5_link_secret="h5-links-for-tests-0"
    )
    callers = Callers.on("wx1")
    app = create_app(settings, publisher=InMemoryEventPublisher(), messaging=False, identity=callers.config)
    with TestClient(app) as http:
        yield http, callers


def test_every_operator_route_checks_the_caller(client: tuple[TestClient, Callers]) -> None:
    http, callers = client
    routes = guarded_routes([profiles.router, surveys.router])
    assert len(routes) == 13
    check_guards(http, callers, routes)


@pytest.fixture
def public(service_settings: LoadSettings, client: tuple[TestClient, Callers]) -> Iterator[TestClient]:
    """The public app (mall webhook, H5 pages) over the operator API's database."""
    settings = service_settings(
        ProfilesSettings, mall_webhook_secret="mall-webhook-for-tests", h5_link_secret="h5-links-for-tests-0"
    )
    with TestClient(create_public_app(settings, publisher=InMemoryEventPublisher(), messaging=False)) as http:
        yield http


def test_public_routes_need_no_operator(client: tuple[TestClient, Callers], public: TestClient) -> None:
    http, _ = client
    assert public.post("/events/mall", content=b"{}").status_code == 401  # the shop's signature, not an operator's
    # A forged link is refused by the page itself, never asked for an operator.
    assert public.get("/h5/wx1/interests", params={"t": "x" * 20}).status_code != 401
    # and neither is served by the operator API
    assert http.post("/events/mall", content=b"{}").status_code == 404


def test_only_reveal_pii_shows_stage_and_consents_and_each_reveal_is_audited(
    client: tuple[TestClient, Callers], public: TestClient
) -> None:
    http, callers = client
    assert http.portal is not None
    link = http.app.state.service.link("wx1", "o_mom", datetime.now(UTC))  # type: ignore[attr-defined]
    path = link.split("127.0.0.1:8013", 1)[1]
    form = b"basis=due_date&on=2027-03-01&interests=interest.diapers&marketing=yes"
    answered = public.post(path, content=form, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answered.status_code == 200, answered.text
    reveals = AuditQuery(appid="wx1", action="member.pii_revealed")

    masked = http.get("/accounts/wx1/members/o_mom/profile", headers=callers.headers(Role.ANALYST)).json()
    assert masked["masked"] and masked["stage"] is None and masked["consents"] == {} and masked["unionid"] is None
    assert {t["code"] for t in masked["tags"]} == {"interest.diapers"}
    history = http.get("/accounts/wx1/members/o_mom/profile/history", headers=callers.headers(Role.ANALYST)).json()
    assert history and all(entry["detail"] == {} for entry in history if entry["kind"] in ("stage_declared", "consent"))
    assert http.portal.call(callers.directory.audit_entries, reveals) == []  # masked reads are not reveals

    admin = callers.headers(Role.ADMIN)
    full = http.get("/accounts/wx1/members/o_mom/profile/reveal", headers=admin).json()
    assert not full["masked"] and full["stage"]["code"].startswith("stage.pregnancy")
    assert full["consents"]["marketing"]["given"]
    full_history = http.get("/accounts/wx1/members/o_mom/profile/history/reveal", headers=admin).json()
    assert any(entry["detail"] for entry in full_history if entry["kind"] == "stage_declared")
    entries = http.portal.call(callers.directory.audit_entries, reveals)
    assert [(e.actor_name, e.object_id, e.after) for e in reversed(entries)] == [
        ("admin-op", "o_mom", {"view": "profile"}),
        ("admin-op", "o_mom", {"view": "history"}),
    ]
