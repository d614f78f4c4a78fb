"""Deliveries and clicks of pushes composed for a project, into the project's daily counters, once each.

The batch's events are claimed in the same transaction as the counter increments, the latest names of
the projects' pushes and segments and the brands' activity, so a redelivered event (alone or inside a
batch) changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from services.brands.domain.progress import DeliveryFact, fold, learn_names
from services.brands.service_layer.ports import BrandsUnitOfWork
from shared.contracts import PushClicked, PushDelivered
from shared.events import Envelope, Message

__all__ = ["CONSUMER", "facts_of", "record_deliveries"]

CONSUMER = "brands-deliveries"


def facts_of(batch: Sequence[tuple[Envelope, Message]]) -> list[tuple[str, DeliveryFact]]:
    """The deliveries and clicks of pushes composed for a project; anything else is not a project's."""
    facts: list[tuple[str, DeliveryFact]] = []
    for envelope, message in batch:
        if isinstance(message, PushDelivered) and message.project_id:
            fact = DeliveryFact(
                "delivered",
                message.project_id,
                message.push_id,
                message.segment_id,
                message.delivered_at,
                push_name=message.push_name,
                segment_name=message.segment_name,
            )
        elif isinstance(message, PushClicked) and message.project_id:
            fact = DeliveryFact(
                "clicked",
                message.project_id,
                message.push_id,
                message.segment_id,
                message.clicked_at,
                message.first,
                push_name=message.push_name,
                segment_name=message.segment_name,
            )
        else:
            continue
        facts.append((envelope.event_id, fact))
    return facts


async def record_deliveries(uow: BrandsUnitOfWork, facts: Sequence[tuple[str, DeliveryFact]]) -> int:
    """Count ``facts`` (event id, fact) not counted before; return how many were new."""
    if not facts:
        return 0
    async with uow:
        fresh = await uow.claim_many(CONSUMER, [event_id for event_id, _ in facts])
        if not fresh:
            return 0
        new: list[DeliveryFact] = []
        for event_id, fact in facts:
            if event_id in fresh:
                fresh.discard(event_id)  # the same event twice in one batch counts once
                new.append(fact)
        await uow.counters.add(fold(new))
        known = await uow.counters.names({fact.project_id for fact in new})
        await uow.counters.remember_names(learn_names(known, new))
        projects = await uow.projects.get_many({fact.project_id for fact in new})
        latest: dict[str, datetime] = {}
        for fact in new:
            project = projects.get(fact.project_id)
            if project is not None:
                brand_id = project.brand_id
                latest[brand_id] = max(latest.get(brand_id, fact.at), fact.at)
        if latest:
            await uow.brands.touch(latest)
        await uow.commit()
        return len(new)
