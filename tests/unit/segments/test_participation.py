"""Segments' copy of campaign participation: each event once, and never a step back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.segments.adapters.memory import InMemoryParticipationUnitOfWork
from services.segments.domain.participation import Standing
from services.segments.service_layer.participation import CONSUMER, record_participation
from services.segments.service_layer.ports import ParticipationUnitOfWork
from shared.contracts import CampaignParticipationChanged, participation_event_id
from shared.events import Envelope

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
KEY = ("wx1", "o_mom", "c1")


def changed(
    credited: int, revision: int, minutes: int = 0, campaign: str = "c1"
) -> tuple[Envelope, CampaignParticipationChanged]:
    event = CampaignParticipationChanged(
        openid="o_mom",
        campaign_id=campaign,
        credited=credited,
        revision=revision,
        occurred_at=T0 + timedelta(minutes=minutes),
    )
    event_id = participation_event_id(campaign, "o_mom", revision)
    return Envelope.wrap(event, appid="wx1", key="o_mom", occurred_at=event.occurred_at, event_id=event_id), event


def test_the_in_memory_store_has_the_port_shape() -> None:
    uow: ParticipationUnitOfWork = InMemoryParticipationUnitOfWork()
    assert uow is not None


async def test_a_first_standing_is_kept_with_its_claim() -> None:
    uow = InMemoryParticipationUnitOfWork()
    envelope, event = changed(credited=0, revision=0)
    assert await record_participation(envelope, event, uow)
    assert uow.committed[KEY] == Standing("wx1", "o_mom", "c1", 0, 0, T0)
    assert f"{CONSUMER}:{envelope.event_id}" in uow.processed


async def test_a_redelivered_event_changes_nothing() -> None:
    uow = InMemoryParticipationUnitOfWork()
    await record_participation(*changed(credited=1, revision=1), uow)
    assert not await record_participation(*changed(credited=1, revision=1), uow)
    assert uow.commits == 1


async def test_the_latest_standing_wins_whatever_the_order_of_arrival() -> None:
    uow = InMemoryParticipationUnitOfWork()
    assert await record_participation(*changed(credited=2, revision=2, minutes=5), uow)
    # Credited first and announced late by another worker: older, so it is done with but not kept.
    assert not await record_participation(*changed(credited=1, revision=1, minutes=9), uow)
    assert uow.committed[KEY].credited == 2
    assert uow.commits == 2 and len(uow.processed) == 2
    assert await record_participation(*changed(credited=1, revision=3, minutes=7), uow)  # a revocation
    assert uow.committed[KEY].credited == 1 and uow.committed[KEY].revision == 3


async def test_each_campaign_is_kept_apart() -> None:
    uow = InMemoryParticipationUnitOfWork()
    await record_participation(*changed(credited=4, revision=4, campaign="c1"), uow)
    await record_participation(*changed(credited=0, revision=0, campaign="c2"), uow)
    assert {key[2]: standing.credited for key, standing in uow.committed.items()} == {"c1": 4, "c2": 0}


def test_a_standing_supersedes_older_ones_only() -> None:
    kept = Standing("wx1", "o_mom", "c1", credited=2, revision=3, occurred_at=T0)
    assert Standing("wx1", "o_mom", "c1", 3, 4, T0 - timedelta(days=1)).supersedes(kept)
    assert not Standing("wx1", "o_mom", "c1", 1, 2, T0 + timedelta(days=1)).supersedes(kept)
    assert not kept.supersedes(kept)
    assert Standing("wx1", "o_mom", "c1", 2, 3, T0 + timedelta(seconds=1)).supersedes(kept)
    assert kept.supersedes(None)
