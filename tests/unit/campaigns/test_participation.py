"""Campaigns announce a participant's standing after each join, credit and revocation; a failed
announcement is logged, and the write it reports stands."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from structlog.testing import capture_logs

from services.campaigns.adapters.memory import InMemoryReferrals, InMemoryReferralUnitOfWork
from services.campaigns.adapters.participation_events import PublishedParticipation
from services.campaigns.domain.campaign import Campaign, CampaignStatus
from services.campaigns.domain.participants import Participant
from services.campaigns.domain.participation import ParticipationChange
from services.campaigns.domain.posters import PosterSpec
from services.campaigns.service_layer.joining import join
from services.campaigns.service_layer.participation import announce_everyone
from services.campaigns.service_layer.ports import ParticipationAnnouncer
from shared.contracts import CAMPAIGN_PARTICIPATION, CATALOG, CampaignParticipationChanged, QrCodeScanned
from shared.events import Envelope
from shared.messaging import PublishFailed
from tests.fakes.announcer import FakeAnnouncer
from tests.fakes.publisher import FakePublisher

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CAMPAIGN = Campaign(
    id="c1", appid="wx1", name="秋季拉新", starts_at=T0, ends_at=T0 + timedelta(days=30), created_at=T0,
    updated_at=T0, status=CampaignStatus.ACTIVE,
)  # fmt: skip


class NoPoster:
    async def poster_spec(self, campaign: Campaign, nickname: str, member: str | None = None) -> PosterSpec | None:
        return None


async def run_join(
    store: InMemoryReferrals, announcer: ParticipationAnnouncer, at: datetime, campaign: Campaign = CAMPAIGN
) -> None:
    envelope = Envelope.wrap(
        QrCodeScanned(openid="o_mom", scanned_at=at, scene="x"), appid="wx1", key="o_mom", occurred_at=at
    )
    await join(
        campaign, "o_mom", "campaign_qr", envelope, store=store, uow=InMemoryReferralUnitOfWork(),
        campaigns=NoPoster(), platform=None, renderer=None, now=at, announcer=announcer,  # type: ignore[arg-type]
    )  # fmt: skip


def test_the_revision_grows_by_one_with_every_change_to_the_credit() -> None:
    member = Participant("c1", "wx1", "o_mom", "code", T0, "campaign_qr")
    revisions = [ParticipationChange.of(member, T0).revision]
    for step in (+1, +1, -1, +1, -1):  # credit, credit, revoke, credit, revoke
        member.credited += step
        member.revoked += step < 0
        revisions.append(ParticipationChange.of(member, T0).revision)
    assert revisions == [0, 1, 2, 3, 4, 5]
    assert ParticipationChange.of(member, T0).credited == 1


async def test_a_join_announces_the_standing_and_a_repeat_announces_the_same_one() -> None:
    store, announcer = InMemoryReferrals(), FakeAnnouncer()
    await run_join(store, announcer, T0 + timedelta(hours=1))
    mom = await store.participant("c1", "o_mom")
    assert mom is not None
    mom.credited = 2  # credited meanwhile
    await store.save_participant(mom)
    await run_join(store, announcer, T0 + timedelta(hours=2))
    first, again = announcer.announced
    assert (first.campaign_id, first.appid, first.openid, first.credited, first.revision) == (
        "c1",
        "wx1",
        "o_mom",
        0,
        0,
    )
    assert (again.credited, again.revision) == (2, 2)


async def test_no_participant_no_announcement() -> None:
    store, announcer = InMemoryReferrals(), FakeAnnouncer()
    await run_join(store, announcer, T0 - timedelta(days=1))  # before the campaign starts
    assert announcer.announced == [] and await store.participant("c1", "o_mom") is None


async def test_a_failed_announcement_is_logged_and_the_join_stands() -> None:
    store, announcer = InMemoryReferrals(), FakeAnnouncer(failures=1)
    with capture_logs() as logs:
        await run_join(store, announcer, T0 + timedelta(hours=1))
    assert await store.participant("c1", "o_mom") is not None
    assert [entry["event"] for entry in logs] == ["participation not announced"]


async def test_changes_are_published_keyed_by_member_under_the_id_of_their_standing() -> None:
    publisher = FakePublisher()
    change = ParticipationChange("c1", "wx1", "o_mom", credited=3, revision=4, at=T0)
    await PublishedParticipation(publisher).announce([change, change])
    (topic, envelope), (_, repeat) = publisher.published
    assert topic is CAMPAIGN_PARTICIPATION
    assert envelope.appid == "wx1" and envelope.key == "o_mom" and envelope.occurred_at == T0
    assert envelope.event_id == repeat.event_id == "participation:c1:o_mom:4"
    assert CATALOG.decode(envelope) == CampaignParticipationChanged(
        openid="o_mom", campaign_id="c1", credited=3, revision=4, occurred_at=T0
    )


async def _stored(count: int) -> AsyncIterator[Participant]:
    for n in range(count):
        member = Participant("c1", "wx1", f"o_{n}", f"code{n}", T0, "keyword", credited=n % 3, revoked=n % 2)
        yield member


async def test_everyone_is_announced_in_batches() -> None:
    announcer = FakeAnnouncer()
    assert await announce_everyone(_stored(7), announcer, T0, batch=3) == 7
    assert [c.openid for c in announcer.announced] == [f"o_{n}" for n in range(7)]
    assert announcer.announced[5].revision == 2 + 2 * 1 and announcer.announced[5].at == T0


async def test_announcing_everyone_stops_loudly_when_publishing_fails() -> None:
    with pytest.raises(PublishFailed):
        await announce_everyone(_stored(2), FakeAnnouncer(failures=1), T0)
