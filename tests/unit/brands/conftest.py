"""The brands API over an in-memory unit of work, with operators of every kind the brand rules tell apart:
an admin of every account, a sales head, the two managers of their team, a manager of no team, an
analyst (no brand permission) and a project manager of one account (push composer)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from services.brands.adapters.memory import InMemoryBrandsUnitOfWork
from services.brands.entrypoints.http import create_app
from services.brands.settings import BrandsSettings
from shared.identity import ALL_ACCOUNTS, CLI_ACTOR, Directory
from shared.settings import load_settings
from tests.identities import cheap_directory, identity_config

APPID = "wx1"
START = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)  # 10:00 in Beijing

#: name: (role, account)
OPERATORS = {
    "root": ("admin", ALL_ACCOUNTS),
    "hana": ("sales_head", ALL_ACCOUNTS),
    "mia": ("account_manager", ALL_ACCOUNTS),
    "max": ("account_manager", ALL_ACCOUNTS),
    "olga": ("account_manager", ALL_ACCOUNTS),
    "ana": ("analyst", APPID),
    "pete": ("project_manager", APPID),
}


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Api:
    client: TestClient
    uow: InMemoryBrandsUnitOfWork
    directory: Directory
    clock: Clock
    ids: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)

    def as_(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


def _seed(directory: Directory) -> tuple[dict[str, str], dict[str, str]]:
    async def seed() -> tuple[dict[str, str], dict[str, str]]:
        ids: dict[str, str] = {}
        tokens: dict[str, str] = {}
        for name, (role, appid) in OPERATORS.items():
            operator = await directory.create_operator(CLI_ACTOR, name, password=None, kind="service")
            await directory.grant(CLI_ACTOR, name, role, appid)
            tokens[name], _ = await directory.create_token(CLI_ACTOR, name, label="test")
            ids[name] = operator.id
        return ids, tokens

    return asyncio.run(seed())


@pytest.fixture
def api() -> Iterator[Api]:
    directory = cheap_directory()
    ids, tokens = _seed(directory)
    uow = InMemoryBrandsUnitOfWork()
    clock = Clock()
    settings = load_settings(BrandsSettings)
    app = create_app(settings, clock=clock, identity=identity_config(directory), uow=lambda: uow)
    with TestClient(app) as client:
        yield Api(client, uow, directory, clock, ids, tokens)
