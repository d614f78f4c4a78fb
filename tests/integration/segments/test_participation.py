"""Campaign participation from campaigns to segments through the real broker and MongoDB-protocol
server: campaigns publish each standing, the segments worker's handler keeps the latest (once per
event, never a step back), and the facts the index reads come from that copy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from scrm_dev.topics import read_records
from services.campaigns.adapters.participation_events import PublishedParticipation
from services.campaigns.adapters.referrals import MongoReferralStore
from services.campaigns.bootstrap_worker import announce_all_participation
from services.campaigns.domain.participants import Participant
from services.campaigns.domain.participation import ParticipationChange
from services.campaigns.settings import CampaignsSettings
from services.profiles.adapters.repository import PROFILES, to_document
from services.profiles.domain.profile import Profile
from services.segments.adapters.facts import MongoFacts
from services.segments.adapters.participation import PARTICIPATION
from services.segments.bootstrap import SegmentsService, bootstrap_worker
from services.segments.entrypoints.consumer import _on_participation
from services.segments.settings import SegmentsSettings
from shared.contracts import CAMPAIGN_PARTICIPATION, CATALOG, TOPICS
from shared.messaging import Delivery, KafkaEventPublisher, Outcome, dispatch, ensure_topics
from shared.storage import PROCESSED_EVENTS
from tests.accounts import account
from tests.conftest import Infra, Isolation
from tests.fakes.publisher import FakePublisher
from tests.fakes.sender import RecordingSender
from tests.integration.conftest import LoadSettings

pytestmark = pytest.mark.integration

APPID = "wxpart0001"
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
async def worker(
    infra: Infra, isolation: Isolation, database: Any, service_settings: LoadSettings
) -> AsyncIterator[SegmentsService]:
    settings = service_settings(
        SegmentsSettings, wechat_accounts=[account(APPID)], click_link_secret="click-links-for-tests"
    )
    await ensure_topics(infra.kafka, TOPICS, prefix=isolation.topic_prefix)
    async with bootstrap_worker(settings, sender=RecordingSender(), dispatch=False) as service:
        yield service


def change(openid: str, campaign: str, credited: int, revision: int, minutes: int) -> ParticipationChange:
    return ParticipationChange(campaign, APPID, openid, credited, revision, T0 + timedelta(minutes=minutes))


async def consume(infra: Infra, isolation: Isolation, service: SegmentsService, expected: int) -> list[Outcome]:
    """Every record on the topic, through the platform's delivery policy into the worker's handler."""
    records = await read_records(
        infra.kafka, CAMPAIGN_PARTICIPATION.physical_name(isolation.topic_prefix), at_least=expected, within=20
    )
    assert len(records) == expected
    return [
        await dispatch(
            Delivery(record.topic, record.partition, record.offset, record.key, record.value),
            consumer="segments-participation",
            handler=partial(_on_participation, service),
            catalog=CATALOG,
            deadletters=FakePublisher(),
        )
        for record in sorted(records, key=lambda r: (r.partition, r.offset))
    ]


async def test_the_latest_standing_is_kept_once_and_read_as_member_facts(
    infra: Infra, isolation: Isolation, database: Any, worker: SegmentsService
) -> None:
    async with KafkaEventPublisher(infra.kafka, topic_prefix=isolation.topic_prefix) as publisher:
        announcer = PublishedParticipation(publisher)
        await announcer.announce([change("o_mom", "c1", 0, 0, 0), change("o_mom", "c2", 0, 0, 1)])
        await announcer.announce([change("o_mom", "c1", 2, 2, 9)])  # two credits, committed by one worker...
        await announcer.announce([change("o_mom", "c1", 1, 1, 5)])  # ...the first announced late by another
        await announcer.announce([change("o_mom", "c1", 2, 2, 9)])  # a join repeating the standing
        await announcer.announce([change("o_dad", "c1", 0, 0, 3)])

    outcomes = await consume(infra, isolation, worker, expected=6)
    assert outcomes == [Outcome.PROCESSED] * 6
    kept = {
        (d["openid"], d["campaign_id"]): (d["credited"], d["revision"]) async for d in database[PARTICIPATION].find()
    }
    assert kept == {("o_mom", "c1"): (2, 2), ("o_mom", "c2"): (0, 0), ("o_dad", "c1"): (0, 0)}
    # One claim per distinct event: the repeated standing was a redelivery.
    claims = await database[PROCESSED_EVENTS].count_documents({"consumer": "segments.participation"})
    assert claims == 5

    await database[PROFILES].insert_many([to_document(Profile(APPID, "o_mom")), to_document(Profile(APPID, "o_dad"))])
    facts = MongoFacts(database)
    today = T0.date()
    mom = await facts.one(APPID, "o_mom", today)
    assert mom is not None and mom.campaigns == {"c1", "c2"} and mom.invites == {"c1": 2, "c2": 0}
    everyone = {member.openid: member.invites async for batch in facts.everyone(today) for member in batch}
    assert everyone == {"o_mom": {"c1": 2, "c2": 0}, "o_dad": {"c1": 0}}
    assert await facts.participation_changed() == []

    # A revocation later: the periodic re-read of the copy finds the member it changed.
    async with KafkaEventPublisher(infra.kafka, topic_prefix=isolation.topic_prefix) as publisher:
        await PublishedParticipation(publisher).announce([change("o_mom", "c1", 1, 3, 30)])
    assert (await consume(infra, isolation, worker, expected=7))[-1] is Outcome.PROCESSED
    assert await facts.participation_changed() == [(APPID, "o_mom")]
    mom = await facts.one(APPID, "o_mom", today)
    assert mom is not None and mom.invites == {"c1": 1, "c2": 0}


async def test_participants_from_before_the_events_reach_segments_through_the_announcing_job(
    infra: Infra, isolation: Isolation, database: Any, worker: SegmentsService, service_settings: LoadSettings
) -> None:
    store = MongoReferralStore(database, None)
    await store.add_participant(
        Participant("c1", APPID, "o_mom", "mom0000001", T0, "campaign_qr", credited=3, revoked=1)
    )
    await store.add_participant(Participant("c2", APPID, "o_mom", "mom0000002", T0, "keyword"))
    await store.add_participant(Participant("c1", APPID, "o_dad", "dad0000001", T0, "referral", credited=1))
    settings = service_settings(CampaignsSettings, wechat_accounts=[])
    assert await announce_all_participation(settings) == 3
    assert await announce_all_participation(settings) == 3  # safe to repeat: the same standings again
    assert await consume(infra, isolation, worker, expected=6) == [Outcome.PROCESSED] * 6
    kept = {
        (d["openid"], d["campaign_id"]): (d["credited"], d["revision"]) async for d in database[PARTICIPATION].find()
    }
    assert kept == {("o_mom", "c1"): (3, 5), ("o_mom", "c2"): (0, 0), ("o_dad", "c1"): (1, 1)}
    assert await database[PROCESSED_EVENTS].count_documents({"consumer": "segments.participation"}) == 3
