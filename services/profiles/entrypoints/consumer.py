"""The profiles worker: applies mall events and the members' own pushes (follows, unfollows,
interactions) to their profiles in batches, once each; tags from keywords and menu clicks; invites new
followers to the H5 interest page."""

from __future__ import annotations

from collections.abc import Sequence

from services.profiles.bootstrap import Profiles, bootstrap
from services.profiles.settings import ProfilesSettings
from shared.contracts import MALL_EVENTS, WECHAT_PUSHES
from shared.datarights import MemberRights, gated
from shared.events import Envelope, Message
from shared.messaging import Batching, Subscription, WorkerApp, create_worker_app


async def _on_event(profiles: Profiles, envelope: Envelope, message: Message) -> None:
    await profiles.handle(envelope, message)


async def _on_batch(profiles: Profiles, batch: Sequence[tuple[Envelope, Message]]) -> None:
    await profiles.handle_batch(batch)


def _rights(profiles: Profiles) -> MemberRights | None:
    return profiles.rights


def create_worker(
    settings: ProfilesSettings, *, health_host: str = "127.0.0.1", health_port: int | None = None
) -> WorkerApp[Profiles]:
    return create_worker_app(
        settings,
        name="profiles",
        resources=lambda: bootstrap(settings, messaging=True),
        # An erased member's events are dropped until they follow again (docs/operations.md, "Data rights").
        subscriptions=gated(
            [
                Subscription(
                    name="profiles",
                    topic=MALL_EVENTS,
                    handler=_on_event,
                    batch=Batching(_on_batch, max_records=settings.mall_batch_size),
                ),
                Subscription(name="profiles-pushes", topic=WECHAT_PUSHES, handler=_on_event, batch=Batching(_on_batch)),
            ],
            _rights,
        ),
        readiness=lambda profiles: {"mongodb": profiles.readiness["mongodb"]},
        health_host=health_host,
        health_port=settings.worker_health_port if health_port is None else health_port,
    )
