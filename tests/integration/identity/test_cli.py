"""``scrm operators`` and ``scrm tokens`` against MongoDB, and the identity API reading what they wrote."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pymongo import MongoClient
from typer.testing import CliRunner

from scrm import cli
from scrm.identity_cli import open_directory
from services.identity.entrypoints.http import create_app
from services.identity.settings import IdentitySettings
from shared.identity import Directory
from tests.conftest import Infra, Isolation

PASSWORD = "correct horse battery"


@pytest.fixture
def env(infra: Infra, isolation: Isolation) -> Iterator[dict[str, str]]:
    yield {"MONGODB_URL": infra.mongodb_url, "MONGODB_DATABASE": isolation.database, "ENVIRONMENT": "test"}
    client: MongoClient[dict[str, Any]]
    with MongoClient(infra.mongodb_url) as client:
        client.drop_database(isolation.database)


def scrm(env: dict[str, str], *args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(cli.app, list(args), env=env, input=stdin)


def test_the_first_admin_and_a_token_come_from_the_cli(env: dict[str, str]) -> None:
    created = scrm(env, "operators", "create", "alice", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert created.exit_code == 0, created.output
    assert scrm(env, "operators", "create", "alice", "--password-stdin", stdin=PASSWORD + "\n").exit_code == 1
    short = scrm(env, "operators", "create", "bob", "--password-stdin", stdin="short\n")
    assert short.exit_code == 1 and "12 characters" in short.output
    assert scrm(env, "operators", "create", "ci-bot", "--service").exit_code == 0
    assert scrm(env, "operators", "grant", "ci-bot", "analyst", "wx1").exit_code == 0
    assert scrm(env, "operators", "grant", "ci-bot", "king", "wx1").exit_code == 1
    listed = scrm(env, "operators", "list").output
    assert "alice" in listed and "admin@*" in listed and "analyst@wx1" in listed

    made = scrm(env, "tokens", "create", "ci-bot", "--label", "nightly", "--scope", "member:view")
    assert made.exit_code == 0, made.output
    token = next(line for line in made.stdout.splitlines() if line.startswith("scrm_"))
    assert token not in scrm(env, "tokens", "list").output

    settings = IdentitySettings(mongodb_url=env["MONGODB_URL"], mongodb_database=env["MONGODB_DATABASE"])
    with TestClient(create_app(settings)) as api:
        me = api.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
        assert (me["name"], me["scopes"]) == ("ci-bot", ["member:view"])
        assert api.post("/auth/login", json={"name": "alice", "password": PASSWORD}).status_code == 200
        assert api.get("/auth/me").json()["name"] == "alice"
        audit = api.get("/audit", params={"actor_id": "cli"}).json()
        assert {"operator.created", "grant.added", "token.created"} <= {e["action"] for e in audit}

    token_id = token.split("_")[1]
    assert scrm(env, "tokens", "revoke", token_id).exit_code == 0
    assert scrm(env, "operators", "disable", "alice").exit_code == 0

    async def check() -> None:
        async with open_directory(settings) as directory:
            assert isinstance(directory, Directory)
            operator = await directory.operator("alice")
            assert operator.disabled
            assert (await directory.tokens("ci-bot"))[0].revoked_at is not None

    asyncio.run(check())
