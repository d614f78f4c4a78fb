"""One contract for the delayed share-reward payouts (``SharePayoutStore``), run against the in-memory
adapter and MongoDB's (the MongoDB-protocol server the suite starts): one payout per member and
campaign, moves conditional on the state read (two sweeps never both move one), what is due, the
re-checks awaited, the tally and the listing; and a payout moved with the reward in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.campaigns.adapters import counters as counter_docs
from services.campaigns.adapters import referrals as referral_docs
from services.campaigns.adapters import share_payouts as payout_docs
from services.campaigns.adapters.memory import CampaignRecords, InMemoryReferralUnitOfWork, InMemorySharePayouts
from services.campaigns.adapters.referrals import MongoReferralUnitOfWork
from services.campaigns.adapters.share_payouts import MongoSharePayouts
from services.campaigns.domain.payouts import PayoutState, RecheckMode, SharePayout, SharePayoutPolicy, open_payout
from services.campaigns.service_layer.ports import ReferralUnitOfWork, SharePayoutStore
from shared.storage import PROCESSED_EVENTS_INDEXES, ensure_indexes
from tests.conftest import Isolation

APPID = "wx1"
T0 = datetime(2026, 12, 1, 10, 0, 0, 123_000, tzinfo=UTC)
POLICY = SharePayoutPolicy(delay_hours=6, recheck=RecheckMode.SAMPLE, recheck_percent=50, recheck_after_hours=2)


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


def payout(openid: str, campaign_id: str = "c1", minutes: int = 0, policy: SharePayoutPolicy = POLICY) -> SharePayout:
    return open_payout(
        policy,
        campaign_id=campaign_id,
        appid=APPID,
        openid=openid,
        pool="S",
        submission_id=f"{APPID}:{openid}",
        approved_at=T0 + timedelta(minutes=minutes),
    )


@dataclass
class Stores:
    payouts: SharePayoutStore
    uow: ReferralUnitOfWork


@pytest.fixture
async def memory_stores() -> Stores:
    records = CampaignRecords()
    return Stores(InMemorySharePayouts(records), InMemoryReferralUnitOfWork(records))


@pytest.fixture
async def mongo_stores(mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation, database: Any) -> Stores:
    await ensure_indexes(
        database, (*referral_docs.INDEXES, *payout_docs.INDEXES, *counter_docs.INDEXES, *PROCESSED_EVENTS_INDEXES)
    )
    return Stores(MongoSharePayouts(database), MongoReferralUnitOfWork(mongo, isolation.database))


@pytest.fixture(params=["memory", "mongo"])
def stores(request: pytest.FixtureRequest) -> Stores:
    found: Stores = request.getfixturevalue(f"{request.param}_stores")
    return found


async def test_one_payout_per_member_moved_only_from_the_state_read(stores: Stores) -> None:
    store = stores.payouts
    plain = payout("o_a", policy=SharePayoutPolicy(delay_hours=6))
    assert await store.open(plain)
    assert not await store.open(replace(plain, pool="other"))  # a second approval opens nothing
    assert await store.get("c1", "o_a") == plain
    assert await store.get("c1", "o_nobody") is None

    paid = plain.pay(hours(6))
    assert await store.move(plain, paid)
    assert not await store.move(plain, paid)  # a second sweep read it waiting: it moves nothing
    assert await store.get("c1", "o_a") == paid
    assert await store.due(hours(100), 10) == []  # settled: never due again


async def test_what_is_due_the_rechecks_awaited_the_tally_and_the_listing(stores: Stores) -> None:
    store = stores.payouts
    everyone = [payout(f"o_{n}", minutes=n) for n in range(8)]
    for each in everyone:
        assert await store.open(each)
    other = payout("o_x", campaign_id="c2")
    await store.open(other)
    asked = [each for each in everyone if each.recheck_at is not None]
    plain = [each for each in everyone if each.recheck_at is None]
    assert asked and plain  # the sample asks some, not all

    def due_by(moment: datetime) -> list[str]:
        found = [p for p in [*everyone, other] if p.due_at is not None and p.due_at <= moment]
        return [p.openid for p in sorted(found, key=lambda p: (p.due_at or moment, p.id))]

    assert [p.openid for p in await store.due(hours(2.5), 100)] == due_by(hours(2.5))
    assert [p.openid for p in await store.due(hours(6.2), 3)] == due_by(hours(6.2))[:3]

    first = asked[0]
    requested = first.ask(hours(3), 24)
    assert await store.move(first, requested)
    assert await store.awaiting_recheck(APPID, first.openid) == [requested]
    assert await store.awaiting_recheck(APPID, plain[0].openid) == []
    if len(asked) > 1:
        second = asked[1]
        failed = second.ask(hours(3), 24).fail_recheck(hours(4), "wx1:9", ("posted_again",))
        await store.move(second, second.ask(hours(3), 24))
        await store.move(second.ask(hours(3), 24), failed)
        assert (await store.get("c1", second.openid)) == failed

    tally = await store.tally("c1")
    assert tally.get("recheck_asked") == min(2, len(asked))
    assert sum(n for state, n in tally.items() if state != "recheck_asked") == 8
    assert tally[PayoutState.RECHECK_REQUESTED.value] == 1

    page = await store.listing("c1", state=None, limit=3, offset=2)
    assert [p.openid for p in page] == ["o_2", "o_3", "o_4"]
    waiting = await store.listing("c1", state=PayoutState.RECHECK_REQUESTED.value, limit=10, offset=0)
    assert waiting == [requested]


async def test_a_payout_moves_in_the_unit_of_work_with_the_reward_or_not_at_all(stores: Stores) -> None:
    plain = payout("o_a", policy=SharePayoutPolicy(delay_hours=1))
    async with stores.uow as uow:
        assert await uow.payouts.open(plain)
        await uow.commit()
    async with stores.uow as uow:  # rolled back: neither the move nor the grant
        assert await uow.payouts.move(plain, plain.pay(hours(1)))
        assert await uow.store.grant_reward("c1", "o_a", 0, "S", hours(1))
    assert (await stores.payouts.get("c1", "o_a")) == plain
    async with stores.uow as uow:
        assert await uow.payouts.move(plain, plain.pay(hours(1)))
        assert await uow.store.grant_reward("c1", "o_a", 0, "S", hours(1))
        await uow.commit()
    found = await stores.payouts.get("c1", "o_a")
    assert found is not None and found.state is PayoutState.PAID
