"""The brands worker: deliveries and clicks of pushes composed for a project (``segments.deliveries``) into
the project's daily counters, in batches, once each."""

from __future__ import annotations

from collections.abc import Sequence

from services.brands.bootstrap import Brands, bootstrap
from services.brands.service_layer.deliveries import CONSUMER, facts_of
from services.brands.settings import BrandsSettings
from shared.contracts import PUSH_DELIVERIES
from shared.events import Envelope, Message
from shared.messaging import Batching, Subscription, WorkerApp, create_worker_app

__all__ = ["create_worker"]


async def _on_batch(brands: Brands, batch: Sequence[tuple[Envelope, Message]]) -> None:
    await brands.record_deliveries(facts_of(batch))


async def _on_event(brands: Brands, envelope: Envelope, message: Message) -> None:
    await _on_batch(brands, [(envelope, message)])


def create_worker(
    settings: BrandsSettings, *, health_host: str = "127.0.0.1", health_port: int | None = None
) -> WorkerApp[Brands]:
    return create_worker_app(
        settings,
        name="brands",
        resources=lambda: bootstrap(settings),
        subscriptions=[
            Subscription(
                name=CONSUMER,
                topic=PUSH_DELIVERIES,
                handler=_on_event,
                batch=Batching(_on_batch, max_records=settings.delivery_batch_size),
            )
        ],
        readiness=lambda brands: {"mongodb": brands.ready},
        health_host=health_host,
        health_port=settings.worker_health_port if health_port is None else health_port,
    )
