"""The profiles worker: consumes mall events and applies them to member profiles, once each."""

from __future__ import annotations

from services.profiles.bootstrap import Profiles, bootstrap
from services.profiles.settings import ProfilesSettings
from shared.contracts import MALL_EVENTS
from shared.events import Envelope, Message
from shared.messaging import Subscription, WorkerApp, create_worker_app


async def _on_mall_event(profiles: Profiles, envelope: Envelope, message: Message) -> None:
    await profiles.handle(envelope, message)


def create_worker(
    settings: ProfilesSettings, *, health_host: str = "127.0.0.1", health_port: int | None = None
) -> WorkerApp[Profiles]:
    return create_worker_app(
        settings,
        name="profiles",
        resources=lambda: bootstrap(settings, publish=False),
        subscriptions=[Subscription(name="profiles", topic=MALL_EVENTS, handler=_on_mall_event)],
        readiness=lambda profiles: {"mongodb": profiles.readiness["mongodb"]},
        health_host=health_host,
        health_port=settings.worker_health_port if health_port is None else health_port,
    )
