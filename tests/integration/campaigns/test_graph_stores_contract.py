"""One contract for the referral graph (``ReferralGraph``) and the poster variants (``PosterVariants``),
run against the in-memory adapters and MongoDB's (the MongoDB-protocol server the suite starts)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.campaigns.adapters import counters as counter_docs
from services.campaigns.adapters import graph as graph_docs
from services.campaigns.adapters import referrals as referral_docs
from services.campaigns.adapters import variants as variant_docs
from services.campaigns.adapters.campaigns import MongoCampaignRepository
from services.campaigns.adapters.graph import MongoReferralGraph
from services.campaigns.adapters.memory import (
    CampaignRecords,
    InMemoryPosterVariants,
    InMemoryReferralGraph,
    InMemoryReferrals,
    InMemoryReferralUnitOfWork,
)
from services.campaigns.adapters.referrals import MongoReferralStore, MongoReferralUnitOfWork
from services.campaigns.adapters.variants import MongoPosterVariants
from services.campaigns.bootstrap_worker import backfill_referral_graph
from services.campaigns.domain.campaign import Campaign, PosterTemplate, QrBox, TextSlot
from services.campaigns.domain.flag_reviews import FlagReview
from services.campaigns.domain.graph import Edge
from services.campaigns.domain.participants import Invitation
from services.campaigns.domain.variants import AutoShift, PosterVariant, VariantPlan
from services.campaigns.service_layer.ports import (
    Freeze,
    PosterVariants,
    ReferralGraph,
    ReferralStore,
    ReferralUnitOfWork,
)
from services.campaigns.settings import CampaignsSettings
from shared.storage import PROCESSED_EVENTS_INDEXES, ensure_indexes
from tests.accounts import account
from tests.conftest import Infra, Isolation

APPID = "wx1"
T0 = datetime(2026, 11, 23, 8, 0, 0, 123_000, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@dataclass
class Stores:
    graph: ReferralGraph
    variants: PosterVariants
    store: ReferralStore
    uow: ReferralUnitOfWork


@pytest.fixture
async def memory_stores() -> Stores:
    records = CampaignRecords()
    return Stores(
        InMemoryReferralGraph(records),
        InMemoryPosterVariants(records),
        InMemoryReferrals(records),
        InMemoryReferralUnitOfWork(records),
    )


@pytest.fixture
async def mongo_stores(mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation, database: Any) -> Stores:
    await ensure_indexes(
        database,
        (
            *referral_docs.INDEXES,
            *graph_docs.INDEXES,
            *variant_docs.INDEXES,
            *counter_docs.INDEXES,
            *PROCESSED_EVENTS_INDEXES,
        ),
    )
    return Stores(
        MongoReferralGraph(database),
        MongoPosterVariants(database),
        MongoReferralStore(database, None),
        MongoReferralUnitOfWork(mongo, isolation.database),
    )


@pytest.fixture(params=["memory", "mongo"])
def stores(request: pytest.FixtureRequest) -> Stores:
    found: Stores = request.getfixturevalue(f"{request.param}_stores")
    return found


async def test_edges_are_written_once_and_follow_the_invitee(stores: Stores) -> None:
    graph = stores.graph
    first = Edge(APPID, "c1", "o_A", "o_B", at(1), variant="b")
    assert await graph.record_edge(first)
    assert not await graph.record_edge(Edge(APPID, "c1", "o_X", "o_B", at(5)))  # one per campaign and invitee
    assert await graph.record_edge(Edge(APPID, "c2", "o_B", "o_A", at(2)))
    assert await graph.record_edge(Edge(APPID, "c2", "o_B", "o_C", at(3)))
    assert await graph.record_edge(Edge("wx_other", "c9", "o_B", "o_Z", at(0)))
    assert [(e.campaign_id, e.invitee) for e in await graph.edges(APPID)] == [
        ("c1", "o_B"),
        ("c2", "o_A"),
        ("c2", "o_C"),
    ]
    assert [e.invitee for e in await graph.edges(APPID, inviter="o_B", limit=1)] == ["o_A"]
    assert (await graph.edges(APPID))[0] == first

    await graph.note_interaction(APPID, "o_B", at(0))  # before the credit: not an interaction after following
    await graph.note_interaction(APPID, "o_B", at(7))
    await graph.note_interaction(APPID, "o_B", at(8))  # the first one stays
    unfollowed = await graph.note_unfollow(APPID, "o_C", at(9))
    assert [(e.invitee, e.unfollowed_at) for e in unfollowed] == [("o_C", at(9))]
    await graph.note_unfollow(APPID, "o_C", at(11))
    await graph.set_status("c2", "o_C", "revoked")
    edges = {e.invitee: e for e in await graph.edges(APPID)}
    assert edges["o_B"].interacted_at == at(7) and edges["o_B"].unfollowed_at is None
    assert edges["o_C"].unfollowed_at == at(9) and edges["o_C"].status == "revoked"


async def test_freezes_hold_until_released_and_the_referral_store_sees_them(stores: Stores) -> None:
    graph = stores.graph
    freeze = Freeze(APPID, "o_A", "frozen", "ring", "reviewer", at(1))
    assert await graph.freeze(freeze) == freeze
    assert await graph.freeze(Freeze(APPID, "o_A", "frozen", "again", "reviewer", at(2))) is None
    assert await stores.store.inviter_frozen(APPID, "o_A")
    async with stores.uow as uow:
        assert await uow.store.inviter_frozen(APPID, "o_A")
        assert not await uow.store.inviter_frozen(APPID, "o_B")
    released = await graph.release(APPID, "o_A", "lead", at(3))
    assert released is not None and (released.status, released.released_by, released.released_at) == (
        "released",
        "lead",
        at(3),
    )
    assert await graph.release(APPID, "o_A", "lead", at(4)) is None
    assert not await stores.store.inviter_frozen(APPID, "o_A")
    assert await graph.freeze(Freeze(APPID, "o_A", "frozen", "twice", "reviewer", at(5))) is not None  # again
    assert [(f.openid, f.reason) for f in await graph.freezes(APPID, status="frozen")] == [("o_A", "twice")]
    assert await graph.freezes("wx_other") == []


async def test_the_backfill_reads_the_campaigns_invitations(stores: Stores) -> None:
    for invitee in ("o_B", "o_C"):
        async with stores.uow as uow:
            await uow.store.add_invitation(Invitation("c1", "o_A", invitee, "credited", at(1), at(1)))
            await uow.commit()
    assert sorted(i.invitee for i in await stores.graph.invitations("c1")) == ["o_B", "o_C"]
    assert await stores.graph.invitations("c2") == []


async def test_variant_plans_assignments_and_counts(stores: Stores) -> None:
    variants = stores.variants
    template = PosterTemplate("img-b", 750, 1334, QrBox(10, 20, 240), (TextSlot("nickname", 5, 6, 30, "#112233"),))
    plan = VariantPlan("c1", (PosterVariant("b", template, 3),), 2, AutoShift(True, 40))
    assert await variants.plan("c1") is None
    await variants.save_plan(APPID, plan)
    assert await variants.plan("c1") == plan
    assert await variants.assign("c1", "o_A", "b") == "b"
    assert await variants.assign("c1", "o_A", "a") == "b"  # the first variant given stays
    assert await variants.assignment("c1", "o_A") == "b"
    assert await variants.assignment("c1", "o_Z") is None
    assert await variants.count_scan("c1", "e1", "b", follow=True, credited=True)
    assert not await variants.count_scan("c1", "e1", "b", follow=True, credited=True)  # a redelivery
    assert await variants.count_scan("c1", "e2", "b", follow=False, credited=False)
    assert await variants.counts("c1") == {"members:b": 1, "scans:b": 2, "follows:b": 1, "credited:b": 1}
    assert await variants.counts("c2") == {}


async def test_the_backfill_command_adds_the_edges_of_earlier_credits(infra: Infra, isolation: Isolation) -> None:
    settings = CampaignsSettings(
        environment="test",
        mongodb_url=infra.mongodb_url,
        mongodb_database=isolation.database,
        wechat_accounts=[account(APPID)],
    )
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    try:
        database = client[isolation.database]
        campaign = Campaign.create(appid=APPID, name="老活动", starts_at=at(0), ends_at=at(60 * 24 * 400), now=at(0))
        await MongoCampaignRepository(database).add(campaign)
        store = MongoReferralStore(database, None)
        for invitee in ("o_B", "o_C"):
            await store.add_invitation(Invitation(campaign.id, "o_A", invitee, "credited", at(1), at(1)))
        assert await backfill_referral_graph(settings) == {APPID: 2}
        assert await backfill_referral_graph(settings, appid=APPID) == {APPID: 0}
        edges = await MongoReferralGraph(database).edges(APPID)
        assert [(e.inviter, e.invitee, e.campaign_id) for e in edges] == [
            ("o_A", "o_B", campaign.id),
            ("o_A", "o_C", campaign.id),
        ]
    finally:
        await client.drop_database(isolation.database)
        await client.close()


async def test_confirmed_credits_count_for_the_variant_they_came_through(stores: Stores) -> None:
    pending = Invitation("c1", "o_A", "o_B", "credited", at(1), at(1), confirms_at=at(60), variant="b")
    at_once = Invitation("c1", "o_A", "o_C", "credited", at(2), at(2), confirmed_at=at(2), variant="a")
    earlier = Invitation("c1", "o_A", "o_D", "credited", at(3), at(3), confirms_at=at(60))  # no variant kept
    dropped = Invitation("c1", "o_A", "o_E", "credited", at(4), at(4), confirms_at=at(60), variant="b")
    await stores.graph.record_edge(Edge(APPID, "c1", "o_A", "o_D", at(3), variant="c"))
    async with stores.uow as uow:
        for invitation in (pending, at_once, earlier, dropped):
            assert await uow.store.add_invitation(invitation)
        await uow.commit()
    assert await stores.variants.counts("c1") == {"confirmed:a": 1}  # a credit confirmed when credited
    async with stores.uow as uow:
        assert await uow.store.revoke_invitation("c1", "o_E", at(5))  # pending: nothing confirmed to take back
        assert await uow.store.confirm_invitation("c1", "o_B", at(61))
        assert not await uow.store.confirm_invitation("c1", "o_B", at(62))  # once
        assert await uow.store.confirm_invitation("c1", "o_D", at(61))  # its variant read from the edge
        await uow.commit()
    assert await stores.variants.counts("c1") == {"confirmed:a": 1, "confirmed:b": 1, "confirmed:c": 1}
    found = await stores.store.invitation("c1", "o_D")
    assert found is not None and found.variant == "c"
    async with stores.uow as uow:
        assert await uow.store.revoke_invitation("c1", "o_C", at(70))  # a confirmed credit taken back
        assert await uow.store.revoke_invitation("c1", "o_D", at(70))
        await uow.commit()
    assert await stores.variants.counts("c1") == {"confirmed:b": 1}


async def test_flags_are_kept_once_per_kind_and_inviter_and_only_a_review_changes_their_state(
    stores: Stores,
) -> None:
    graph = stores.graph
    ring = FlagReview(APPID, "ring", "o_A", at(1), at(1), at(0), edges=2, campaigns=("c1", "c2"), detail="ring")
    burst = FlagReview(APPID, "unfollow_burst", "o_A", at(1), at(1), at(0), edges=3, detail="burst")
    elsewhere = FlagReview("wx_other", "ring", "o_A", at(1), at(1), at(0))
    await graph.keep_flags([ring, burst, elsewhere])
    assert sorted(f.id for f in await graph.flag_reviews(APPID)) == ["ring:o_A", "unfollow_burst:o_A"]
    assert await graph.review_flag(replace(ring, status="dismissed", reviewed_by="rita", reviewed_at=at(2)), "open")
    assert not await graph.review_flag(replace(ring, status="confirmed"), "open")  # reviewed meanwhile
    assert not await graph.review_flag(replace(ring, inviter="o_Z", status="dismissed"), "open")  # unknown
    # Computed again: the pattern moves on, the review stays; a pattern no longer found is not current.
    await graph.keep_flags([replace(ring, edges=3, last_seen_at=at(5)), replace(burst, current=False)])
    kept = {f.id: f for f in await graph.flag_reviews(APPID)}
    assert (kept["ring:o_A"].status, kept["ring:o_A"].reviewed_by, kept["ring:o_A"].edges) == ("dismissed", "rita", 3)
    assert kept["ring:o_A"].campaigns == ("c1", "c2") and kept["ring:o_A"].first_seen_at == at(1)
    assert kept["ring:o_A"].last_seen_at == at(5) and kept["unfollow_burst:o_A"].current is False
    assert kept["unfollow_burst:o_A"].status == "open"
