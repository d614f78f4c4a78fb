"""The app factory every HTTP service is built with."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.testclient import TestClient

from shared.settings import ServiceSettings
from shared.storage import StorageUnavailable
from shared.web import create_service_app, now, service_of
from shared.wechat import AccountsSettings
from tests.accounts import account, accounts_env


class Refused(Exception):
    pass


@dataclass
class Service:
    opened: bool = True
    mongodb_up: bool = True
    seen: list[str] = field(default_factory=list)

    async def ready(self) -> None:
        if not self.mongodb_up:
            raise ConnectionError("down")


def _service(request: Request) -> Service:
    service: Service = service_of(request)
    return service


ServiceDep = Annotated[Service, Depends(_service)]

operators = APIRouter()
public = APIRouter()


@operators.get("/accounts/{appid}/things")
async def things(appid: str, service: ServiceDep, request: Request) -> dict[str, str]:
    service.seen.append(appid)
    return {"appid": appid, "now": now(request).isoformat()}


@operators.post("/accounts/{appid}/things")
async def make(appid: str, body: dict[str, int]) -> dict[str, int]:
    if body.get("refuse"):
        raise Refused("no such thing may be made")
    if body.get("storage"):
        raise StorageUnavailable("mongodb gone")
    return body


@public.get("/open")
async def open_endpoint() -> dict[str, bool]:
    return {"open": True}


def _app(settings: ServiceSettings, service: Service, **options: object) -> TestClient:
    @asynccontextmanager
    async def bootstrap() -> AsyncIterator[Service]:
        yield service
        service.opened = False

    app = create_service_app(
        settings,
        title="test",
        bootstrap=bootstrap,
        readiness={"mongodb": lambda s: s.ready()},
        operator_routers=[operators],
        public_routers=[public],
        errors={Refused: 409},
        clock=lambda: datetime(2026, 1, 2, tzinfo=UTC),
        **options,  # type: ignore[arg-type]
    )
    return TestClient(app)


@pytest.fixture
def service() -> Service:
    return Service()


@pytest.fixture
def client(service: Service) -> Iterator[TestClient]:
    settings = AccountsSettings(wechat_accounts=accounts_env(account()))
    with _app(settings, service, max_body_bytes=64) as client:
        yield client
    assert service.opened is False, "the lifespan closes what bootstrap opened"


def test_routes_reach_the_service_and_the_clock(client: TestClient, service: Service) -> None:
    response = client.get("/accounts/wx1/things")
    assert response.json() == {"appid": "wx1", "now": "2026-01-02T00:00:00+00:00"}
    assert service.seen == ["wx1"]


@pytest.mark.parametrize("path", ["/accounts/wx2/things", "/accounts/wx2", "/accounts//things"])
def test_an_unknown_account_is_404_before_anything_else(client: TestClient, service: Service, path: str) -> None:
    response = client.post(path, content=b"not json at all" * 10)  # too big and not JSON: still 404
    assert response.status_code == 404
    assert response.json()["detail"].startswith("unknown account")
    assert service.seen == []


def test_services_without_accounts_do_not_check_them(service: Service) -> None:
    with _app(ServiceSettings(), service) as client:
        assert client.get("/accounts/anything/things").status_code == 200


def test_bodies_over_the_limit_are_413(client: TestClient) -> None:
    assert client.post("/accounts/wx1/things", json={"x" * 100: 1}).status_code == 413


def test_declared_errors_and_storage_outages_get_their_status(client: TestClient) -> None:
    refused = client.post("/accounts/wx1/things", json={"refuse": 1})
    assert (refused.status_code, refused.json()) == (409, {"detail": "no such thing may be made"})
    down = client.post("/accounts/wx1/things", json={"storage": 1})
    assert (down.status_code, down.json()["reason"], down.headers["retry-after"]) == (503, "storage_unavailable", "5")
    assert down.json()["detail"].startswith("storage unavailable")


def test_readiness_runs_the_checks_against_the_service(client: TestClient, service: Service) -> None:
    assert client.get("/readyz").json() == {"status": "ready", "checks": {"mongodb": "ok"}}
    service.mongodb_up = False
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"mongodb": "error: ConnectionError"}
    assert client.get("/healthz").status_code == 200


def test_operator_dependencies_guard_operator_routes_only(service: Service) -> None:
    async def deny() -> None:
        raise HTTPException(401, detail="sign in")

    with _app(ServiceSettings(), service, operator_dependencies=[Depends(deny)]) as client:
        assert client.get("/accounts/wx1/things").status_code == 401
        assert client.get("/open").json() == {"open": True}


def test_bodies_are_capped_by_the_settings_unless_the_service_says_otherwise(service: Service) -> None:
    with _app(ServiceSettings(max_body_bytes=1024), service) as client:
        assert client.post("/accounts/wx1/things", json={"x" * 2000: 1}).status_code == 413
        assert client.post("/accounts/wx1/things", json={"x": 1}).status_code == 200
    assert ServiceSettings().max_body_bytes == 1024 * 1024  # every service has a cap by default


def test_self_limited_routes_pass_the_cap_unread(service: Service) -> None:
    with _app(ServiceSettings(max_body_bytes=1024), service, self_limited_bodies=[r"/accounts/[^/]+/things"]) as client:
        assert client.post("/accounts/wx1/things", json={"x" * 2000: 1}).status_code == 200
        assert client.post("/accounts/wx1/other", content=b"x" * 2000).status_code == 413
