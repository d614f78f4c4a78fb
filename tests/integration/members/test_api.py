"""The members API with identity: every route, from the router's own table, needs ``member:view`` on
the route's account (401 without a caller, 403 for another account's admin), and reads work for each
role that holds it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.members.entrypoints.http import create_app, router
from services.members.settings import MembersSettings
from shared.identity import Role
from tests.identities import Callers
from tests.integration.conftest import LoadSettings
from tests.integration.profiles.test_permissions import check_guards, guarded_routes

pytestmark = pytest.mark.integration


@pytest.fixture
def client(service_settings: LoadSettings) -> Iterator[tuple[TestClient, Callers]]:
    callers = Callers.on("wx1")
    with TestClient(create_app(service_settings(MembersSettings), identity=callers.config)) as http:
        yield http, callers


def test_every_route_checks_the_caller(client: tuple[TestClient, Callers]) -> None:
    http, callers = client
    routes = guarded_routes([router])
    assert len(routes) == 3
    check_guards(http, callers, routes)


def test_reads_work_with_an_analyst_token(client: tuple[TestClient, Callers]) -> None:
    http, callers = client
    analyst = callers.headers(Role.ANALYST)
    assert http.get("/accounts/wx1/members", headers=analyst).json() == {"items": [], "limit": 50, "offset": 0}
    assert http.get("/accounts/wx1/member-counts", headers=analyst).json() == {
        "members": 0,
        "following": 0,
        "unfollowed": 0,
    }
    assert http.get("/accounts/wx1/members/o_nobody", headers=analyst).status_code == 404
    assert http.get("/accounts/wx1/members", headers=analyst, params={"limit": 0}).status_code == 422
