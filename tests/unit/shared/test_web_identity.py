"""The app factory with identity: operator routes need a caller, and the caller's role and account."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from fastapi import APIRouter, Depends, Request
from fastapi.testclient import TestClient

from shared.identity import (
    CLI_ACTOR,
    CSRF_HEADER,
    SESSION_COOKIE,
    Actor,
    Directory,
    IdentityConfig,
    InMemoryAuditLog,
    InMemoryIdentityStore,
    PasswordHasher,
    Permission,
    Role,
    audit,
    require,
)
from shared.settings import ServiceSettings
from shared.web import create_service_app
from tests.identities import Callers

PASSWORD = "correct horse battery"

operators = APIRouter()
public = APIRouter()


@operators.get("/accounts/{appid}/things", dependencies=[Depends(require(Permission.CAMPAIGN_VIEW))])
async def things(appid: str) -> dict[str, str]:
    return {"appid": appid}


@operators.post("/accounts/{appid}/things", dependencies=[Depends(require(Permission.CAMPAIGN_EDIT))])
async def make(appid: str, request: Request, actor: Actor) -> dict[str, str]:
    await audit(request, "thing.created", "thing", "t1", after={"by": actor.name})
    return {"by": actor.name}


@operators.get("/me")
async def me(actor: Actor) -> dict[str, str]:
    return {"name": actor.name}


@operators.get("/plain")
async def plain() -> dict[str, bool]:
    return {"plain": True}


@public.get("/open")
async def open_endpoint() -> dict[str, bool]:
    return {"open": True}


@dataclass
class Setup:
    client: TestClient
    directory: Directory
    audit_log: InMemoryAuditLog
    tokens: dict[str, str]


async def _prepare(directory: Directory) -> dict[str, str]:
    tokens: dict[str, str] = {}
    for name, role, appid in [("ana", "analyst", "wx1"), ("cop", "campaign_operator", "wx1"), ("root", "admin", "*")]:
        await directory.create_operator(CLI_ACTOR, name, password=PASSWORD)
        await directory.grant(CLI_ACTOR, name, role, appid)
        tokens[name], _ = await directory.create_token(CLI_ACTOR, name, label="test")
    return tokens


def _client(directory: Directory | None) -> TestClient:
    @asynccontextmanager
    async def bootstrap() -> AsyncIterator[object]:
        yield object()

    @asynccontextmanager
    async def open_directory() -> AsyncIterator[Directory]:
        assert directory is not None
        yield directory

    app = create_service_app(
        ServiceSettings(),
        title="test",
        bootstrap=bootstrap,
        readiness={},
        operator_routers=[operators],
        public_routers=[public],
        identity=IdentityConfig(open_directory, secure_cookies=False) if directory else None,
    )
    return TestClient(app)


@pytest.fixture
def setup() -> Iterator[Setup]:
    audit_log = InMemoryAuditLog()
    directory = Directory(InMemoryIdentityStore(), audit_log, hasher=PasswordHasher(memory_kib=19 * 1024, time_cost=2))
    tokens = asyncio.run(_prepare(directory))
    with _client(directory) as client:
        yield Setup(client, directory, audit_log, tokens)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer scrm_0123456789abcdef_wrong"}, {"Authorization": "Basic YTpi"}]
)
def test_operator_routes_without_valid_credentials_are_401(setup: Setup, headers: dict[str, str]) -> None:
    routes = [("GET", "/accounts/wx1/things"), ("POST", "/accounts/wx1/things"), ("GET", "/me"), ("GET", "/plain")]
    for method, path in routes:
        response = setup.client.request(method, path, headers=headers)
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"] == "Bearer"


def test_public_routes_stay_open(setup: Setup) -> None:
    assert setup.client.get("/open").json() == {"open": True}
    assert setup.client.get("/healthz").status_code == 200


def test_a_role_without_the_permission_is_403_and_the_denial_audited(setup: Setup) -> None:
    response = setup.client.post("/accounts/wx1/things", headers=bearer(setup.tokens["ana"]))
    assert response.status_code == 403 and "campaign:edit" in response.json()["detail"]
    denial = setup.audit_log.entries[-1]
    assert (denial.action, denial.actor_name, denial.appid) == ("permission.denied", "ana", "wx1")


def test_a_grant_on_another_account_is_403(setup: Setup) -> None:
    assert setup.client.get("/accounts/wx2/things", headers=bearer(setup.tokens["ana"])).status_code == 403
    assert setup.client.post("/accounts/wx2/things", headers=bearer(setup.tokens["cop"])).status_code == 403


def test_the_right_role_passes_and_its_writes_are_audited_with_the_caller(setup: Setup) -> None:
    assert setup.client.get("/accounts/wx1/things", headers=bearer(setup.tokens["ana"])).status_code == 200
    made = setup.client.post("/accounts/wx1/things", headers=bearer(setup.tokens["cop"]) | {"X-Request-ID": "r-1"})
    assert made.json() == {"by": "cop"}
    entry = setup.audit_log.entries[-1]
    assert (entry.action, entry.actor_name, entry.appid, entry.request_id) == ("thing.created", "cop", "wx1", "r-1")
    assert entry.credential_id is not None and entry.credential_id in setup.tokens["cop"]
    assert setup.client.post("/accounts/wx9/things", headers=bearer(setup.tokens["root"])).status_code == 200


def test_a_session_cookie_works_and_its_writes_need_the_csrf_token(setup: Setup) -> None:
    signed_in = asyncio.run(setup.directory.login("cop", PASSWORD))
    setup.client.cookies.set(SESSION_COOKIE, signed_in.secret)
    assert setup.client.get("/me").json() == {"name": "cop"}
    refused = setup.client.post("/accounts/wx1/things")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    done = setup.client.post("/accounts/wx1/things", headers={CSRF_HEADER: signed_in.session.csrf_token})
    assert done.status_code == 200


def test_the_operator_api_docs_need_a_caller(setup: Setup) -> None:
    for path in ["/docs", "/openapi.json"]:
        assert setup.client.get(path).status_code == 401
        assert setup.client.get(path, headers=bearer(setup.tokens["ana"])).status_code == 200
    paths = setup.client.get("/openapi.json", headers=bearer(setup.tokens["ana"])).json()["paths"]
    assert "/accounts/{appid}/things" in paths
    assert setup.client.get("/redoc").status_code == 404


def test_without_identity_nothing_changes() -> None:
    with _client(None) as client:
        assert client.get("/plain").json() == {"plain": True}
        assert client.get("/docs").status_code == 200
        assert client.get("/openapi.json").status_code == 200


def test_the_shared_test_callers_hold_their_roles() -> None:
    callers = Callers.on("wx1")

    @asynccontextmanager
    async def bootstrap() -> AsyncIterator[object]:
        yield object()

    app = create_service_app(
        ServiceSettings(),
        title="t",
        bootstrap=bootstrap,
        readiness={},
        operator_routers=[operators],
        identity=callers.config,
    )
    with TestClient(app) as client:
        assert client.get("/accounts/wx1/things", headers=callers.headers(Role.ANALYST)).status_code == 200
        assert client.post("/accounts/wx1/things", headers=callers.headers(Role.ANALYST)).status_code == 403
        assert client.post("/accounts/wx1/things", headers=callers.headers(Role.CAMPAIGN_OPERATOR)).status_code == 200
        assert client.get("/accounts/wx1/things", headers=callers.headers_other_account()).status_code == 403


def _address_app(trusted: list[str]) -> TestClient:
    from fastapi import FastAPI

    from shared.identity import client_address

    app = FastAPI()
    app.state.trusted_proxies = tuple(ipaddress.ip_network(t, strict=False) for t in trusted)

    @app.get("/who")
    async def who(request: Request) -> dict[str, str | None]:
        return {"address": client_address(request)}

    return TestClient(app, client=("10.1.2.3", 50000))


@pytest.mark.parametrize(
    ("trusted", "forwarded", "seen"),
    [
        ([], "203.0.113.7", "10.1.2.3"),  # nobody trusted: the header is anyone's to forge
        (["10.1.2.3"], "203.0.113.7", "203.0.113.7"),
        (["10.0.0.0/8"], "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # the hop the proxy saw
        (["192.168.0.0/16"], "203.0.113.7", "10.1.2.3"),
        (["10.0.0.0/8"], None, "10.1.2.3"),
    ],
)
def test_the_client_address_comes_from_a_trusted_proxys_forwarded_for_only(
    trusted: list[str], forwarded: str | None, seen: str
) -> None:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    assert _address_app(trusted).get("/who", headers=headers).json() == {"address": seen}
