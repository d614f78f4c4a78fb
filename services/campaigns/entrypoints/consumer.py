"""The campaign worker: consumes WeChat pushes; joins members, credits referrals, sends posters and notices."""

from __future__ import annotations

from services.campaigns.bootstrap_worker import CampaignsWorker, bootstrap
from services.campaigns.settings import CampaignsSettings
from shared.contracts import WECHAT_PUSHES
from shared.datarights import MemberRights, gated
from shared.events import Envelope, Message
from shared.messaging import Subscription, WorkerApp, create_worker_app


async def _on_push(worker: CampaignsWorker, envelope: Envelope, message: Message) -> None:
    await worker.handle(envelope, message)


def _rights(worker: CampaignsWorker) -> MemberRights | None:
    return worker.rights


def create_worker(
    settings: CampaignsSettings, *, health_host: str = "127.0.0.1", health_port: int | None = None
) -> WorkerApp[CampaignsWorker]:
    return create_worker_app(
        settings,
        name="campaigns",
        resources=lambda: bootstrap(settings),
        # An erased member's events are dropped until they follow again (docs/operations.md, "Data rights").
        subscriptions=gated(
            [Subscription(name="campaigns", topic=WECHAT_PUSHES, handler=_on_push, partitions_in_parallel=True)],
            _rights,
        ),
        readiness=lambda worker: {"mongodb": worker.ready},
        health_host=health_host,
        health_port=settings.worker_health_port if health_port is None else health_port,
    )
