"""Receiving the shop's events: check the signature, parse every event, publish them for the worker.

A request is all or nothing: a bad signature refuses it (:class:`SignatureRejected`), one bad event
refuses every event in it (:class:`EventsRejected`, naming line and field) before anything is
published. The worker applies what is published (:mod:`services.profiles.service_layer.mall`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Container, Sequence

from services.profiles.domain.mall_webhook import EventProblem, MallEventIn, parse_events, verify_signature
from services.profiles.service_layer.ports import EventPublisher
from shared.contracts import MALL_EVENTS, MallEventReceived
from shared.events import Envelope
from shared.messaging import PublishFailed

__all__ = ["EventsNotStored", "EventsRejected", "receive_mall_events"]


class EventsRejected(ValueError):
    """At least one event in the request is unusable; ``problems`` name each one's line and field."""

    def __init__(self, problems: Sequence[EventProblem]) -> None:
        super().__init__(f"{len(problems)} problems in the events")
        self.problems = tuple(problems)


class EventsNotStored(Exception):
    """Kafka did not take the events; some may be out already, and resending is harmless."""

    def __init__(self) -> None:
        super().__init__("events could not be stored; resend the request")


def _envelope(event: MallEventIn) -> Envelope:
    message = MallEventReceived(
        mall_event_id=event.event_id,
        openid=event.openid,
        unionid=event.unionid,
        kind=event.kind,  # checked by parse_events
        category=event.category,
        occurred_at=event.occurred_at,
        amount_fen=event.amount_fen,
        order_id=event.order_id,
    )
    # The shop's id makes the envelope's: a resent event is the same event all the way down.
    event_id = hashlib.sha256(f"{event.appid}:{event.event_id}".encode()).hexdigest()
    return Envelope.wrap(message, appid=event.appid, key=event.openid, occurred_at=event.occurred_at, event_id=event_id)


async def receive_mall_events(
    body: bytes,
    *,
    bulk: bool,
    timestamp: str | None,
    signature: str | None,
    secret: bytes,
    known_account: Callable[[str], bool],
    categories: Container[str],
    publisher: EventPublisher,
    now: float,
) -> int:
    """Publish the events of one signed request; return how many (repeats within it count once).

    ``now`` is unix seconds (the signature's timestamp must be close to it).
    """
    verify_signature(secret, timestamp, signature, body, now)
    events, problems = parse_events(body, bulk=bulk, known_account=known_account, categories=categories)
    if problems:
        raise EventsRejected(problems)
    try:
        for event in events:
            await publisher.publish(MALL_EVENTS, _envelope(event))
    except PublishFailed:
        raise EventsNotStored() from None
    return len(events)
