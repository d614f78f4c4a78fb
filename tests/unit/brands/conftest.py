"""The brands API over an in-memory unit of work, called by the operators of tests/brand_callers.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from services.brands.adapters.memory import InMemoryBrandsUnitOfWork
from services.brands.entrypoints.http import create_app
from services.brands.settings import BrandsSettings
from shared.identity import Directory
from shared.settings import load_settings
from tests.brand_callers import seed_operators
from tests.identities import cheap_directory, identity_config

START = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)  # 10:00 in Beijing


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


@pytest.fixture
def api() -> Iterator[Api]:
    directory = cheap_directory()
    ids, tokens = seed_operators(directory)
    uow = InMemoryBrandsUnitOfWork()
    clock = Clock()
    settings = load_settings(BrandsSettings)
    app = create_app(settings, clock=clock, identity=identity_config(directory), uow=lambda: uow)
    with TestClient(app) as client:
        yield Api(client, uow, directory, clock, ids, tokens)
