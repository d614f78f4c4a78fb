"""``analytics-worker``: folds follows and unfollows, campaign activity and push deliveries into the
per-day rollups, in batches, each event once."""

from __future__ import annotations

from collections.abc import Sequence

from services.analytics.bootstrap_worker import RollupWorker, bootstrap_worker
from services.analytics.settings import AnalyticsSettings
from shared.contracts import CAMPAIGN_ACTIVITY, PUSH_DELIVERIES, WECHAT_PUSHES
from shared.datarights import MemberRights, gated
from shared.events import Envelope, Message
from shared.messaging import Batching, Subscription, WorkerApp, create_worker_app

__all__ = ["create_worker"]


async def _on_event(worker: RollupWorker, envelope: Envelope, message: Message) -> None:
    await worker.handle(envelope, message)


async def _on_batch(worker: RollupWorker, batch: Sequence[tuple[Envelope, Message]]) -> None:
    await worker.handle_batch(batch)


def _rights(worker: RollupWorker) -> MemberRights | None:
    return worker.rights


def create_worker(
    settings: AnalyticsSettings, *, health_host: str = "127.0.0.1", health_port: int | None = None
) -> WorkerApp[RollupWorker]:
    batching = Batching(_on_batch, max_records=settings.rollup_batch_size)
    return create_worker_app(
        settings,
        name="analytics",
        resources=lambda: bootstrap_worker(settings),
        # An erased member's events are dropped until they follow again (docs/operations.md, "Data rights").
        subscriptions=gated(
            [
                Subscription(name="analytics-follows", topic=WECHAT_PUSHES, handler=_on_event, batch=batching),
                Subscription(name="analytics-campaigns", topic=CAMPAIGN_ACTIVITY, handler=_on_event, batch=batching),
                Subscription(name="analytics-pushes", topic=PUSH_DELIVERIES, handler=_on_event, batch=batching),
            ],
            _rights,
        ),
        readiness=lambda worker: {"mongodb": worker.ready},
        health_host=health_host,
        health_port=settings.worker_health_port if health_port is None else health_port,
    )
