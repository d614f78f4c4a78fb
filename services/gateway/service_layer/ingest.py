"""Turning a verified push into a published event: the gateway's one use case."""

from __future__ import annotations

from services.gateway.domain import pushes
from shared.contracts import WECHAT_PUSHES
from shared.events import Envelope
from shared.messaging import EventPublisher


async def ingest_push(appid: str, body: bytes, publisher: EventPublisher) -> Envelope:
    """Parse, normalize and publish one push; return what was published.

    Raises :class:`pushes.InvalidPush` for a body we cannot accept and
    :class:`shared.messaging.PublishFailed` when Kafka did not take the event. The event id is derived
    from the push, so the platform's retries publish the same id and consumers apply it once.
    """
    push = pushes.parse(body)
    envelope = Envelope.wrap(
        pushes.normalize(push),
        appid=appid,
        key=push.from_user,
        occurred_at=push.occurred_at,
        event_id=push.dedup_key(appid),
    )
    await publisher.publish(WECHAT_PUSHES, envelope)
    return envelope
