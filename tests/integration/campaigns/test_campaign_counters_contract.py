"""The campaign counters, in memory and in MongoDB: every counted write (joins, posters, invitations and
revocations, refusals, grants and their delivery status, submissions and reviewers' decisions), made in
a unit of work, aborted, or outside one, keeps them equal to a recount of the records; a rebuild
recomputes them, for records from before the counters."""

from __future__ import annotations

import abc
import asyncio
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.campaigns.domain.counters import stats_figures
from services.campaigns.domain.participants import Invitation, Participant, reward_id
from services.campaigns.domain.submissions import SubmissionRecord
from services.campaigns.service_layer.counters import Rebuilt, rebuild_counters
from services.campaigns.service_layer.ports import ReferralStore, ShareScreenshotStore
from services.screenshots import Decision, Fingerprint
from shared.storage import retry_transient
from tests.integration.campaigns.conftest import Records

APPID = "wx1"
T0 = datetime(2026, 11, 23, 8, 0, 0, 123_000, tzinfo=UTC)
MEMBERS = [f"o{n}" for n in range(10)]
VIA = ["keyword", "menu", "referral", "campaign_qr"]
REASONS = ["self_invite", "not_a_new_follower", "existing_follower_scan", "daily_cap_reached"]


async def expect_recount(records: Records, campaign_id: str = "c1") -> None:
    """What the counters answer equals a recount of the records (the stats, screenshots, participants)."""
    expected = stats_figures(await records.rebuild.recount_campaign(campaign_id))
    stats = await records.results.of(campaign_id)
    assert {name: getattr(stats, name) for name in vars(expected)} == vars(expected)
    assert await records.screenshots.counts(campaign_id) == expected.screenshots
    account = stats_figures(await records.rebuild.recount_account(APPID)).screenshots
    assert await records.screenshots.account_counts(APPID, None) == account
    _, total = await records.results.participant_page(campaign_id, openid_prefix=None, limit=1, offset=0)
    assert total == expected.participants


def submission(name: str, openid: str, status: str, campaign_id: str = "c1") -> SubmissionRecord:
    decision = {"review": "review", "approved": "approve", "rejected": "reject"}[status]
    return SubmissionRecord(
        id=f"{APPID}:{name}",
        campaign_id=campaign_id,
        appid=APPID,
        openid=openid,
        received_at=T0,
        status=status,
        decision=decision,
        reasons=[],
        evidence={},
        fingerprint=Fingerprint(f"sha-{name}", None),
        decided_by="auto",
        decided_at=T0,
    )


async def random_write(
    records: Records, store: ReferralStore, shots: ShareScreenshotStore, rng: random.Random, n: int
) -> None:
    """One counted write of a random kind (most of them on campaign c1, a few on c2)."""
    campaign_id = "c1" if rng.random() < 0.9 else "c2"
    who, other = rng.choice(MEMBERS), rng.choice(MEMBERS)
    at = T0 + timedelta(minutes=n)
    match rng.randrange(9):
        case 0:
            joined = Participant(campaign_id, APPID, who, f"code-{who}", at, rng.choice(VIA))
            await store.add_participant(joined)
        case 1:
            found = await store.participant(campaign_id, who)
            if found is not None:
                await store.save_participant(replace(found, poster_sent_at=None if found.poster_sent_at else at))
        case 2:
            await store.add_invitation(Invitation(campaign_id, who, other, "credited", at, at))
        case 3:
            await store.revoke_invitation(campaign_id, other, at)
        case 4:
            await store.record_rejection(campaign_id, who, other, rng.choice(REASONS), at)
        case 5:
            await store.grant_reward(campaign_id, who, rng.randrange(4), "A", at)
        case 6:
            code = rng.choice([None, f"CODE{n}"])
            await records.notices.record_code(reward_id(campaign_id, who, rng.randrange(4)), code, at)
        case 7:
            status = rng.choice(["review", "review", "approved", "rejected"])
            await shots.add(submission(f"s{rng.randrange(30)}", who, status, campaign_id))
        case _:
            decision = rng.choice([Decision.APPROVE, Decision.REJECT])
            await shots.settle_review(f"{APPID}:s{rng.randrange(30)}", decision, "ops", None, at)


class CampaignCountersContract(abc.ABC):
    @abc.abstractmethod
    @pytest.fixture
    async def records(self) -> Records: ...

    async def test_counters_equal_a_recount_after_random_writes_in_and_out_of_transactions(
        self, records: Records
    ) -> None:
        rng = random.Random(11)
        for n in range(90):
            where = rng.randrange(3)
            if where == 0:  # outside any unit of work: a transaction of the write's own
                await random_write(records, records.store, records.screenshots, rng, n)
            else:
                async with records.uow() as uow:
                    await random_write(records, uow.store, uow.screenshots, rng, n)
                    if where == 1:
                        await uow.commit()
                    # where == 2: the handler failed; the write and its counts vanish together
            if n % 15 == 14:
                await expect_recount(records)
        await expect_recount(records)
        await expect_recount(records, "c2")

    async def test_a_rebuild_recomputes_counters_from_the_records(self, records: Records) -> None:
        rng = random.Random(5)
        for n in range(40):
            await random_write(records, records.store, records.screenshots, rng, n)
        before = await records.results.of("c1")
        await records.forget_counters()  # records from before the counters
        assert (await records.results.of("c1")).participants == 0
        assert await records.screenshots.account_counts(APPID, None) == {}
        await records.rebuild.rebuild_campaign("c1")
        await records.rebuild.rebuild_campaign("c2")
        await records.rebuild.rebuild_account(APPID)
        assert await records.results.of("c1") == before
        await expect_recount(records)
        await records.rebuild.rebuild_campaign("c1")  # again: nothing changes
        assert await records.results.of("c1") == before
        # Writes after the rebuild add to the rebuilt counts.
        for n in range(40, 60):
            await random_write(records, records.store, records.screenshots, rng, n)
        await expect_recount(records)

    async def test_concurrent_credits_of_one_campaign_are_all_counted(self, records: Records) -> None:
        for openid in MEMBERS:
            await records.store.add_participant(Participant("c1", APPID, openid, f"code-{openid}", T0, "keyword"))

        async def credit(inviter: str, invitee: str) -> None:
            async def attempt() -> None:
                async with records.uow() as uow:
                    await uow.store.add_invitation(Invitation("c1", inviter, invitee, "credited", T0, T0))
                    await uow.store.grant_reward("c1", inviter, 1, "A", T0)
                    await uow.commit()

            # Two transactions writing one counter document conflict; the loser is retried, as the
            # worker's runner retries a message.
            await retry_transient(attempt, attempts=30)

        await asyncio.gather(*(credit(inviter, f"f{n}") for n, inviter in enumerate(MEMBERS)))
        stats = await records.results.of("c1")
        assert (stats.invites_credited, stats.members_reached_tier, stats.rewards_granted) == (10, 10, {1: 10})
        await expect_recount(records)


class TestInMemoryCampaignCounters(CampaignCountersContract):
    @pytest.fixture
    async def records(self, in_memory_records: Records) -> Records:
        return in_memory_records


@pytest.mark.integration
class TestMongoCampaignCounters(CampaignCountersContract):
    @pytest.fixture
    async def records(self, mongo_records: Records) -> Records:
        return mongo_records


async def test_rebuilding_every_campaign_of_an_account(in_memory_records: Records) -> None:
    """The use case walks the campaigns, then each account once."""
    calls: list[str] = []

    class Recording:
        async def campaigns(self, appid: str | None = None) -> list[tuple[str, str]]:
            return [("wx1", "c1"), ("wx1", "c2"), ("wx2", "c3")]

        async def rebuild_campaign(self, campaign_id: str) -> dict[str, Any]:
            calls.append(campaign_id)
            return {}

        async def rebuild_account(self, appid: str) -> dict[str, Any]:
            calls.append(appid)
            return {}

    assert await rebuild_counters(Recording()) == Rebuilt(campaigns=3, accounts=2)
    assert calls == ["c1", "c2", "c3", "wx1", "wx2"]
