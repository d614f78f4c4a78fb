"""Fixtures shared by every tier.

Unit tests need nothing running. Integration and e2e tests share one Tansu broker and one SecantusDB
server per session (started on free ports by the same code as ``scrm infra up``); each test gets its
own topic prefix and database name, so tests never see each other's data.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from services.wechat_sim.settings import WeChatSimSettings
from shared.localinfra import LocalInfrastructure, free_port

_SETTINGS_ENV = (
    "ENVIRONMENT",
    "SERVICE_NAME",
    "KAFKA_BOOTSTRAP_SERVERS",
    "MONGODB_URL",
    "MONGODB_DATABASE",
    "TOPIC_PREFIX",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "WECHAT_ACCOUNTS",
    "MAX_BODY_BYTES",
    "WORKER_HEALTH_PORT",
    "KAFKA_SESSION_TIMEOUT_SECONDS",
    # The simulator's own settings (WECHAT_SIM_OPTIONS, PUBLIC_URL...): none may leak in either.
    *(name.upper() for name in WeChatSimSettings.model_fields),
)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Settings come only from what a test passes: no developer's shell or .env leaks in."""
    for name in _SETTINGS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # pydantic-settings reads ./.env


@dataclass(frozen=True)
class Infra:
    kafka: str
    mongodb_url: str


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    local = LocalInfrastructure(
        tmp_path_factory.mktemp("infra"),
        kafka=("127.0.0.1", free_port()),
        mongodb=("127.0.0.1", free_port()),
        persistent=False,
    )
    local.up()
    try:
        yield Infra(kafka=local.kafka_bootstrap, mongodb_url=local.mongodb_url)
    finally:
        local.down()


@dataclass(frozen=True)
class Isolation:
    """Names no other test uses."""

    topic_prefix: str
    database: str


def new_isolation(label: str = "test") -> Isolation:
    run = uuid.uuid4().hex[:10]
    return Isolation(topic_prefix=f"t{run}.", database=f"{label}_{run}")


@pytest.fixture
def isolation() -> Isolation:
    return new_isolation()


@pytest.fixture
def infra_env(infra: Infra, isolation: Isolation) -> dict[str, str]:
    """Environment for a child process pointed at this test's infrastructure and names."""
    return child_env(infra, isolation)


def child_env(infra: Infra, isolation: Isolation) -> dict[str, str]:
    """Environment for a child process pointed at ``infra`` and ``isolation``'s names (also for fixtures
    wider than a test, such as the browser tests' stack)."""
    return {
        "ENVIRONMENT": "test",
        "KAFKA_BOOTSTRAP_SERVERS": infra.kafka,
        "MONGODB_URL": infra.mongodb_url,
        "MONGODB_DATABASE": isolation.database,
        "TOPIC_PREFIX": isolation.topic_prefix,
        "LOG_FORMAT": "json",
        "KAFKA_SESSION_TIMEOUT_SECONDS": "3",
    }
