"""Every process the platform runs, by name: what ``scrm run <name>`` starts.

A new service adds its entries here; nothing else in the CLI changes.
"""

from __future__ import annotations

import contextlib
import gc
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import uvicorn
from fastapi import FastAPI

from shared.observability import configure_logging
from shared.settings import ServiceSettings


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    kind: Literal["http", "worker"]
    default_port: int
    description: str
    run: Callable[[str, int], None]
    #: Workers: the topics they consume.
    consumes: tuple[str, ...] = ()


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


def _serve(settings: ServiceSettings, app: FastAPI, host: str, port: int) -> None:
    # Everything imported so far lives as long as the process: take it out of the cyclic GC's view so
    # collections triggered by per-request garbage stay short (measured on the webhook hot path).
    gc.collect()
    gc.freeze()
    # log_config=None keeps the logging configure_logging set up; access lines are metrics' job.
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, server_header=False)
    _GracefulServer(config).run()


def _gateway(host: str, port: int) -> None:
    from services.gateway.entrypoints.http import create_app
    from services.gateway.settings import GatewaySettings
    from shared.settings import load_settings

    settings = load_settings(GatewaySettings)
    configure_logging(settings)
    _serve(settings, create_app(settings), host, port)


def _members_api(host: str, port: int) -> None:
    from services.members.entrypoints.http import create_app
    from services.members.settings import MembersSettings
    from shared.settings import load_settings

    settings = load_settings(MembersSettings)
    configure_logging(settings)
    _serve(settings, create_app(settings), host, port)


def _campaigns_api(host: str, port: int) -> None:
    from services.campaigns.entrypoints.http import create_app
    from services.campaigns.settings import CampaignsSettings
    from shared.settings import load_settings

    settings = load_settings(CampaignsSettings)
    configure_logging(settings)
    _serve(settings, create_app(settings), host, port)


def _members_worker(host: str, port: int) -> None:
    from services.members.entrypoints.consumer import create_worker
    from services.members.settings import MembersSettings
    from shared.messaging import run_worker
    from shared.settings import load_settings

    settings = load_settings(MembersSettings)
    configure_logging(settings)
    run_worker(create_worker(settings, health_host=host, health_port=port), loglevel=settings.log_level)


def _campaigns_worker(host: str, port: int) -> None:
    from services.campaigns.entrypoints.consumer import create_worker
    from services.campaigns.settings import CampaignsSettings
    from shared.messaging import run_worker
    from shared.settings import load_settings

    settings = load_settings(CampaignsSettings)
    configure_logging(settings)
    run_worker(create_worker(settings, health_host=host, health_port=port), loglevel=settings.log_level)


def _profiles_api(host: str, port: int) -> None:
    from services.profiles.entrypoints.http import create_app
    from services.profiles.settings import ProfilesSettings
    from shared.settings import load_settings

    settings = load_settings(ProfilesSettings)
    configure_logging(settings)
    _serve(settings, create_app(settings), host, port)


def _profiles_worker(host: str, port: int) -> None:
    from services.profiles.entrypoints.consumer import create_worker
    from services.profiles.settings import ProfilesSettings
    from shared.messaging import run_worker
    from shared.settings import load_settings

    settings = load_settings(ProfilesSettings)
    configure_logging(settings)
    run_worker(create_worker(settings, health_host=host, health_port=port), loglevel=settings.log_level)


def _segments_api(host: str, port: int) -> None:
    from services.segments.entrypoints.http import create_app
    from services.segments.settings import SegmentsSettings
    from shared.settings import load_settings

    settings = load_settings(SegmentsSettings)
    configure_logging(settings)
    _serve(settings, create_app(settings), host, port)


def _segments_worker(host: str, port: int) -> None:
    from services.segments.entrypoints.consumer import create_worker
    from services.segments.settings import SegmentsSettings
    from shared.messaging import run_worker
    from shared.settings import load_settings

    settings = load_settings(SegmentsSettings)
    configure_logging(settings)
    run_worker(create_worker(settings, health_host=host, health_port=port), loglevel=settings.log_level)


def _wechat_sim(host: str, port: int) -> None:
    from services.wechat_sim.entrypoints.http import create_app
    from services.wechat_sim.settings import WeChatSimSettings
    from shared.settings import load_settings

    settings = load_settings(WeChatSimSettings)
    if "public_url" not in settings.model_fields_set:  # member pictures link back to this process
        reachable = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
        settings = load_settings(WeChatSimSettings, public_url=f"http://{reachable}:{port}")
    configure_logging(settings)
    _serve(settings, create_app(settings), host, port)


PROCESSES: dict[str, ProcessSpec] = {
    spec.name: spec
    for spec in (
        ProcessSpec("gateway", "http", 8000, "WeChat webhook gateway (HTTP → Kafka)", _gateway),
        ProcessSpec("members-api", "http", 8001, "Members read API", _members_api),
        ProcessSpec("campaigns-api", "http", 8002, "Campaign management API", _campaigns_api),
        ProcessSpec("profiles-api", "http", 8003, "Profiles API and the signed mall webhook", _profiles_api),
        ProcessSpec("segments-api", "http", 8004, "Segments (live index), pushes and click redirects", _segments_api),
        ProcessSpec(
            "members-worker",
            "worker",
            8101,
            "Members consumer (Kafka → MongoDB)",
            _members_worker,
            consumes=("wechat.pushes",),
        ),
        ProcessSpec(
            "campaigns-worker",
            "worker",
            8102,
            "Campaigns consumer (joins, posters, referral credit, share screenshots)",
            _campaigns_worker,
            consumes=("wechat.pushes",),
        ),
        ProcessSpec(
            "profiles-worker",
            "worker",
            8103,
            "Profiles consumer (mall events → profiles and tags; H5 invitations to new followers)",
            _profiles_worker,
            consumes=("mall.events", "wechat.pushes"),
        ),
        ProcessSpec(
            "segments-worker",
            "worker",
            8104,
            "Push sender (frozen audiences → WeChat, within the rules) and job-finish pushes",
            _segments_worker,
            consumes=("wechat.pushes",),
        ),
        ProcessSpec("wechat-sim", "http", 8200, "Local WeChat platform simulator", _wechat_sim),
    )
}
