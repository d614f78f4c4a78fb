"""The members worker: consumes WeChat pushes and keeps member records."""

from __future__ import annotations

from services.members.bootstrap import Members, bootstrap
from services.members.settings import MembersSettings
from shared.contracts import WECHAT_PUSHES
from shared.datarights import MemberRights, gated
from shared.events import Envelope, Message
from shared.messaging import Subscription, WorkerApp, create_worker_app


async def _on_push(members: Members, envelope: Envelope, message: Message) -> None:
    await members.handle(envelope, message)


def _rights(members: Members) -> MemberRights | None:
    return members.rights


def create_worker(
    settings: MembersSettings, *, health_host: str = "127.0.0.1", health_port: int | None = None
) -> WorkerApp[Members]:
    return create_worker_app(
        settings,
        name="members",
        resources=lambda: bootstrap(settings),
        # An erased member's events are dropped until they follow again (docs/operations.md, "Data rights").
        subscriptions=gated([Subscription(name="members", topic=WECHAT_PUSHES, handler=_on_push)], _rights),
        readiness=lambda members: {"mongodb": members.ready},
        health_host=health_host,
        health_port=settings.worker_health_port if health_port is None else health_port,
    )
