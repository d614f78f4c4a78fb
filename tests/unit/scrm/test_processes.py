"""The process registry: one row per process, one launcher for all of them."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from scrm import processes
from scrm.processes import PROCESSES, ProcessSpec, launch
from services.wechat_sim.settings import WeChatSimSettings
from shared.settings import ServiceSettings

APP = object()
WORKER = object()


def make_app(settings: ServiceSettings) -> object:
    made.append(("app", settings, {}))
    return APP


def make_worker(settings: ServiceSettings, **health: Any) -> object:
    made.append(("worker", settings, health))
    return WORKER


made: list[tuple[str, ServiceSettings, dict[str, Any]]] = []


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, object, dict[str, Any]]]:
    """What the launcher handed to uvicorn or to the worker runner, instead of running it."""
    made.clear()
    calls: list[tuple[str, object, dict[str, Any]]] = []
    monkeypatch.setattr(processes, "configure_logging", lambda settings: None)
    monkeypatch.setattr(processes, "_serve", lambda app, host, port: calls.append(("serve", app, {"at": (host, port)})))
    monkeypatch.setattr(
        "shared.messaging.run_worker", lambda worker, loglevel: calls.append(("run_worker", worker, {"log": loglevel}))
    )
    return calls


def test_every_row_names_a_settings_class_and_a_factory_of_its_kind() -> None:
    for spec in PROCESSES.values():
        settings = processes._resolve(spec.settings)
        assert isinstance(settings, type) and issubclass(settings, ServiceSettings), spec.name
        assert callable(processes._resolve(spec.factory)), spec.name
        # The public endpoints of a service run as their own process, from the service's public app.
        http = "http:create_public_app" if spec.name.endswith("-public") else "http:create_app"
        entrypoint = http if spec.kind == "http" else "consumer:create_worker"
        assert spec.factory.endswith(f".entrypoints.{entrypoint}"), spec.name
        assert bool(spec.consumes) == (spec.kind == "worker"), spec.name
    assert len({spec.default_port for spec in PROCESSES.values()}) == len(PROCESSES)


def test_an_http_process_is_served_with_its_settings(started: list[tuple[str, object, dict[str, Any]]]) -> None:
    spec = ProcessSpec("x-api", "http", 9, "x", "shared.settings:ServiceSettings", f"{__name__}:make_app")
    launch(spec, "127.0.0.1", 8999)
    assert started == [("serve", APP, {"at": ("127.0.0.1", 8999)})]
    assert [(kind, type(settings)) for kind, settings, _ in made] == [("app", ServiceSettings)]


def test_a_worker_gets_its_health_port_and_log_level(started: list[tuple[str, object, dict[str, Any]]]) -> None:
    spec = ProcessSpec("x-worker", "worker", 9, "x", "shared.settings:ServiceSettings", f"{__name__}:make_worker")
    launch(spec, "0.0.0.0", 8998)  # noqa: S104
    assert started == [("run_worker", WORKER, {"log": "INFO"})]
    assert made[0][2] == {"health_host": "0.0.0.0", "health_port": 8998}  # noqa: S104


def _public_url() -> str:
    settings = made[-1][1]
    assert isinstance(settings, WeChatSimSettings)
    return settings.public_url


def test_the_simulator_links_back_to_itself_unless_told_otherwise(
    started: list[tuple[str, object, dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = dataclasses.replace(PROCESSES["wechat-sim"], factory=f"{__name__}:make_app")
    launch(spec, "0.0.0.0", 8299)  # noqa: S104
    assert _public_url() == "http://127.0.0.1:8299"
    launch(spec, "10.0.0.5", 8299)
    assert _public_url() == "http://10.0.0.5:8299"
    monkeypatch.setenv("PUBLIC_URL", "https://sim.example")
    launch(spec, "0.0.0.0", 8299)  # noqa: S104
    assert _public_url() == "https://sim.example"


async def test_a_served_app_is_frozen_for_the_cyclic_gc_once_it_has_started(monkeypatch: pytest.MonkeyPatch) -> None:
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    from fastapi import FastAPI

    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        events.append("started")
        yield
        events.append("stopped")

    monkeypatch.setattr("scrm.processes.gc.freeze", lambda: events.append("frozen"))
    monkeypatch.setattr("scrm.processes.gc.collect", lambda: 0)
    app = FastAPI(lifespan=lifespan)
    processes._freeze_after_startup(app)
    async with app.router.lifespan_context(app):
        assert events == ["started", "frozen"]  # what start-up built lives as long as the process
    assert events == ["started", "frozen", "stopped"]
    assert processes.GC_THRESHOLDS[0] > 700  # the young generation is not collected every few requests
