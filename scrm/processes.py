"""Every process the platform runs, by name: what ``scrm run <name>`` starts.

A new service adds its rows to :data:`PROCESSES` (its settings class and its app or worker factory, by
import path); nothing else in the CLI changes. One function, :func:`launch`, runs any of them.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import signal
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import uvicorn
from fastapi import FastAPI

from shared.observability import configure_logging
from shared.settings import ServiceSettings, load_settings

__all__ = ["PROCESSES", "ProcessSpec", "launch"]


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    kind: Literal["http", "worker"]
    default_port: int
    description: str
    #: "module:attribute" of the process's :class:`ServiceSettings` subclass.
    settings: str
    #: "module:attribute" of its factory: ``create_app(settings) -> FastAPI`` for HTTP processes,
    #: ``create_worker(settings, health_host=..., health_port=...) -> WorkerApp`` for workers.
    factory: str
    #: Workers: the topics they consume.
    consumes: tuple[str, ...] = ()
    #: A settings field that defaults to this process's own URL when not configured (the simulator's
    #: member pictures link back to it).
    own_url_setting: str | None = None
    #: The workers that do this process's work behind it: without them it answers, but what it starts
    #: (a follow joining a campaign, a push being sent...) waits on its topic. ``scrm run`` says so.
    needs: tuple[str, ...] = ()
    #: What waits without them, for that hint.
    without_needs: str = ""

    def run(self, host: str, port: int) -> None:
        launch(self, host, port)


class _GracefulServer(uvicorn.Server):
    """Shuts down gracefully on SIGTERM/SIGINT and then exits 0.

    Stock uvicorn re-raises the signal after its graceful shutdown, so a clean stop looks like a
    kill (-15) to supervisors and tests; here a completed graceful stop is a success.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


#: The cyclic GC's thresholds for a serving process. With the default young threshold (700) a process
#: answering thousands of requests a second collects many times a second; each collection walks the
#: objects of every request in flight and promotes them, so full collections (which walk everything the
#: process keeps: caches, the gateway's retry ledger) follow every few hundred requests. Measured on
#: the webhook: a tenth of the gateway's CPU went to the GC. Not much higher: a young collection walks
#: every object tracked since the last one that still lives (at 50,000, pauses of 20-60 ms on a busy
#: machine). Request garbage is freed by reference counting either way; only cycles wait longer.
GC_THRESHOLDS = (10_000, 20, 20)


def _serve(app: FastAPI, host: str, port: int) -> None:
    # Everything imported so far lives as long as the process: take it out of the cyclic GC's view so
    # collections triggered by per-request garbage stay short (measured on the webhook hot path); and
    # again once the app has started (its clients, caches and stores live as long as the process too).
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    _freeze_after_startup(app)
    # log_config=None keeps the logging configure_logging set up; access lines are metrics' job.
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, server_header=False)
    _GracefulServer(config).run()


def _freeze_after_startup(app: FastAPI) -> None:
    startup = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(served: Any) -> AsyncIterator[Any]:
        async with startup(served) as state:
            gc.collect()
            gc.freeze()
            yield state

    app.router.lifespan_context = lifespan


def _resolve(path: str) -> Any:
    """The object at "package.module:attribute", imported only when its process starts."""
    module, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _load_settings(spec: ProcessSpec, host: str, port: int) -> ServiceSettings:
    settings_class: type[ServiceSettings] = _resolve(spec.settings)
    settings = load_settings(settings_class)
    if spec.own_url_setting is not None and spec.own_url_setting not in settings.model_fields_set:
        reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
        settings = load_settings(settings_class, **{spec.own_url_setting: f"http://{reachable}:{port}"})
    return settings


def launch(spec: ProcessSpec, host: str, port: int) -> None:
    """Load the process's settings (raises SettingsError), set up logging, and run it in the foreground:
    an HTTP app under uvicorn, or a worker (whose health endpoints listen on ``host``:``port``)."""
    settings = _load_settings(spec, host, port)
    configure_logging(settings)
    factory = _resolve(spec.factory)
    if spec.kind == "http":
        _serve(factory(settings), host, port)
    else:
        from shared.messaging import run_worker

        run_worker(factory(settings, health_host=host, health_port=port), loglevel=settings.log_level)


def _http(
    name: str, port: int, service: str, settings: str, description: str, factory: str = "create_app", **extra: Any
) -> ProcessSpec:
    return ProcessSpec(
        name,
        "http",
        port,
        description,
        settings=f"services.{service}.settings:{settings}",
        factory=f"services.{service}.entrypoints.http:{factory}",
        **extra,
    )


def _worker(
    name: str, port: int, service: str, settings: str, description: str, consumes: tuple[str, ...]
) -> ProcessSpec:
    return ProcessSpec(
        name,
        "worker",
        port,
        description,
        settings=f"services.{service}.settings:{settings}",
        factory=f"services.{service}.entrypoints.consumer:create_worker",
        consumes=consumes,
    )


PROCESSES: dict[str, ProcessSpec] = {
    spec.name: spec
    for spec in (
        _http("gateway", 8000, "gateway", "GatewaySettings", "WeChat webhook gateway (HTTP → Kafka)"),
        _http(
            "members-api",
            8001,
            "members",
            "MembersSettings",
            "Members read API",
            needs=("members-worker",),
            without_needs="follows are not recorded",
        ),
        _http(
            "campaigns-api",
            8002,
            "campaigns",
            "CampaignsSettings",
            "Campaign management API",
            needs=("campaigns-worker",),
            without_needs="a follow does nothing for a campaign: no join, no poster, no credit",
        ),
        # Operator APIs (keep internal) and, on ports 8010 + n, the public endpoints of the same service.
        _http(
            "profiles-api",
            8003,
            "profiles",
            "ProfilesSettings",
            "Profiles, ops tags and surveys API (operator)",
            needs=("profiles-worker",),
            without_needs="mall events and follows do not reach profiles, new followers get no H5 invitation",
        ),
        _http(
            "segments-api",
            8004,
            "segments",
            "SegmentsSettings",
            "Segments (live index) and pushes API (operator)",
            needs=("segments-worker",),
            without_needs="pushes come due and are never sent",
        ),
        _http(
            "profiles-public",
            8013,
            "profiles",
            "ProfilesSettings",
            "Public: the signed mall webhook and the members' H5 pages",
            factory="create_public_app",
            needs=("profiles-worker",),
            without_needs="mall events wait on their topic",
        ),
        _http(
            "segments-public",
            8014,
            "segments",
            "SegmentsSettings",
            "Public: the signed click redirects in pushed links",
            factory="create_public_app",
        ),
        _http(
            "identity-api", 8005, "identity", "IdentitySettings", "Operators, roles, API tokens, sessions, audit log"
        ),
        _http("console", 8006, "console", "ConsoleSettings", "The operators' web console (pages over operator APIs)"),
        _http(
            "analytics",
            8007,
            "analytics",
            "AnalyticsSettings",
            "Dashboards over the daily rollups (operator)",
            needs=("analytics-worker",),
            without_needs="the dashboards stop counting",
        ),
        _http(
            "brands",
            8008,
            "brands",
            "BrandsSettings",
            "Brands, projects, deals, payments, business view (operator)",
            needs=("brands-worker",),
            without_needs="projects' delivery counters stop",
        ),
        _worker(
            "members-worker",
            8101,
            "members",
            "MembersSettings",
            "Members consumer (Kafka → MongoDB)",
            ("wechat.pushes",),
        ),
        _worker(
            "campaigns-worker",
            8102,
            "campaigns",
            "CampaignsSettings",
            "Campaigns consumer (joins, posters, referral credit, share screenshots)",
            ("wechat.pushes",),
        ),
        _worker(
            "profiles-worker",
            8103,
            "profiles",
            "ProfilesSettings",
            "Profiles consumer (mall events → profiles and tags; H5 invitations to new followers)",
            ("mall.events", "wechat.pushes"),
        ),
        _worker(
            "segments-worker",
            8104,
            "segments",
            "SegmentsSettings",
            "Push sender (frozen audiences → WeChat, within the rules) and job-finish pushes",
            ("wechat.pushes",),
        ),
        _worker(
            "analytics-worker",
            8107,
            "analytics",
            "AnalyticsSettings",
            "Rollups: per-day counters from follows, campaign activity and push deliveries",
            ("wechat.pushes", "campaigns.activity", "segments.deliveries"),
        ),
        _worker(
            "brands-worker",
            8108,
            "brands",
            "BrandsSettings",
            "Brands consumer (deliveries and clicks of project pushes → project counters)",
            ("segments.deliveries",),
        ),
        _http(
            "wechat-sim",
            8200,
            "wechat_sim",
            "WeChatSimSettings",
            "Local WeChat platform simulator",
            own_url_setting="public_url",
        ),
    )
}
