"""The identity API over in-memory stores: sign-in, sessions, operators, tokens, audit."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.identity.entrypoints.http import create_app
from services.identity.settings import IdentitySettings
from shared.identity import (
    CLI_ACTOR,
    CSRF_HEADER,
    SESSION_COOKIE,
    Directory,
    InMemoryAuditLog,
    InMemoryIdentityStore,
    PasswordHasher,
)

PASSWORD = "correct horse battery"


@pytest.fixture
def directory() -> Directory:
    directory = Directory(
        InMemoryIdentityStore(), InMemoryAuditLog(), hasher=PasswordHasher(memory_kib=19 * 1024, time_cost=2)
    )

    async def seed() -> None:
        await directory.create_operator(CLI_ACTOR, "root", password=PASSWORD)
        await directory.grant(CLI_ACTOR, "root", "admin", "*")
        await directory.create_operator(CLI_ACTOR, "ana", password=PASSWORD)
        await directory.grant(CLI_ACTOR, "ana", "analyst", "wx1")

    asyncio.run(seed())
    return directory


@pytest.fixture
def client(directory: Directory) -> Iterator[TestClient]:
    with TestClient(create_app(IdentitySettings(), directory=directory)) as client:
        yield client


def login(client: TestClient, name: str = "root", password: str = PASSWORD) -> str:
    response = client.post("/auth/login", json={"name": name, "password": password})
    assert response.status_code == 200, response.text
    csrf: str = response.json()["csrf_token"]
    return csrf


def actions(directory: Directory) -> list[str]:
    return [e.action for e in directory.audit_log.entries]  # type: ignore[attr-defined]


def test_sign_in_sets_an_http_only_cookie_and_me_answers(client: TestClient) -> None:
    response = client.post("/auth/login", json={"name": "root", "password": PASSWORD})
    cookie = response.headers["set-cookie"]
    assert SESSION_COOKIE in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # development: plain-HTTP localhost
    me = client.get("/auth/me").json()
    assert (me["name"], me["grants"], me["csrf_token"]) == (
        "root",
        [{"role": "admin", "appid": "*"}],
        response.json()["csrf_token"],
    )


def test_cookies_are_secure_outside_development(directory: Directory) -> None:
    with TestClient(create_app(IdentitySettings(environment="production"), directory=directory)) as client:
        response = client.post("/auth/login", json={"name": "root", "password": PASSWORD})
        assert "Secure" in response.headers["set-cookie"]


def test_a_wrong_password_is_401_and_audited(client: TestClient, directory: Directory) -> None:
    response = client.post("/auth/login", json={"name": "root", "password": "not the password"})
    assert (response.status_code, response.json()) == (401, {"detail": "wrong name or password"})
    assert actions(directory)[-1] == "auth.login_failed"
    assert directory.audit_log.entries[-1].address == "testclient"  # type: ignore[attr-defined]


def test_sign_in_is_throttled_after_five_failures(client: TestClient) -> None:
    for _ in range(5):
        assert client.post("/auth/login", json={"name": "ana", "password": "wrong again!"}).status_code == 401
    throttled = client.post("/auth/login", json={"name": "ana", "password": PASSWORD})
    assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) == 900


def test_without_credentials_everything_but_sign_in_is_401(client: TestClient) -> None:
    for method, path in [
        ("GET", "/auth/me"),
        ("GET", "/operators"),
        ("POST", "/tokens"),
        ("GET", "/sessions"),
        ("GET", "/audit"),
        ("GET", "/docs"),
        ("GET", "/openapi.json"),
    ]:
        assert client.request(method, path).status_code == 401, path


def test_cookie_writes_need_the_csrf_token(client: TestClient) -> None:
    csrf = login(client)
    body = {"name": "bea", "password": PASSWORD}
    assert client.post("/operators", json=body).status_code == 403
    created = client.post("/operators", json=body, headers={CSRF_HEADER: csrf})
    assert created.status_code == 201 and created.json()["name"] == "bea"


def test_a_token_is_shown_once_and_works_until_revoked(client: TestClient, directory: Directory) -> None:
    csrf = login(client)
    created = client.post(
        "/tokens", json={"operator": "ana", "label": "ci", "scopes": ["member:view"]}, headers={CSRF_HEADER: csrf}
    )
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("scrm_")
    listed = client.get("/tokens").json()
    assert "token" not in listed[0] and token not in str(listed)
    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/auth/me", headers=bearer).json()["scopes"] == ["member:view"]
    assert client.get("/operators", headers=bearer).status_code == 403  # analyst: not operator:manage
    login(client)
    assert client.delete(f"/tokens/{created.json()['id']}", headers={CSRF_HEADER: csrf}).status_code == 403
    csrf = login(client)
    assert client.delete(f"/tokens/{created.json()['id']}", headers={CSRF_HEADER: csrf}).status_code == 204
    client.cookies.clear()
    assert client.get("/auth/me", headers=bearer).status_code == 401
    assert {"token.created", "token.revoked"} <= set(actions(directory))
    assert token.rsplit("_", 1)[-1] not in str(directory.audit_log.entries)  # type: ignore[attr-defined]


def test_grants_sessions_and_the_audit_log(client: TestClient, directory: Directory) -> None:
    csrf = login(client)
    headers = {CSRF_HEADER: csrf}
    granted = client.post("/operators/ana/grants", json={"role": "reviewer", "appid": "wx2"}, headers=headers)
    assert {"role": "reviewer", "appid": "wx2"} in granted.json()["grants"]
    assert (
        client.post("/operators/ana/grants", json={"role": "king", "appid": "wx2"}, headers=headers).status_code == 422
    )
    removed = client.delete("/operators/ana/grants", params={"role": "reviewer", "account": "wx2"}, headers=headers)
    assert {"role": "reviewer", "appid": "wx2"} not in removed.json()["grants"]
    sessions = client.get("/sessions").json()
    assert len(sessions) == 1 and "digest" not in sessions[0]
    audit = client.get("/audit", params={"action": "grant.added", "actor_id": "op_x"}).json()
    assert audit == []
    root_id = client.get("/auth/me").json()["id"]
    audit = client.get("/audit", params={"action": "grant.added", "actor_id": root_id}).json()
    assert [(e["action"], e["actor_name"], e["appid"]) for e in audit] == [("grant.added", "root", "wx2")]
    assert client.post("/operators/ana/disable", headers=headers).json()["disabled"] is True
    # The admin's own session ends on sign-out.
    assert client.post("/auth/logout", headers=headers).status_code == 204
    assert client.get("/auth/me").status_code == 401


def test_an_analyst_cannot_read_the_audit_log(client: TestClient) -> None:
    login(client, "ana")
    assert client.get("/audit").status_code == 403
    assert client.get("/operators").status_code == 403


def test_the_docs_open_for_a_signed_in_operator(client: TestClient) -> None:
    login(client, "ana")
    assert client.get("/docs").status_code == 200
    assert "/auth/login" in client.get("/openapi.json").json()["paths"]
