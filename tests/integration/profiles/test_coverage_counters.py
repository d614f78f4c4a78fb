"""The coverage counters under the real SecantusDB server: kept in each profile write's transaction
(random writes, aborted transactions, concurrent transactions on one account's counter document,
the follower import), equal to a recount of the profiles, and rebuilt from them."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.profiles.adapters.repository import (
    COVERAGE,
    INDEXES,
    MongoFollowerImport,
    MongoProfileRepository,
    MongoProfilesUnitOfWork,
)
from services.profiles.domain.coverage import daily_part, recount
from services.profiles.domain.profile import Change, Profile
from services.profiles.domain.tags import TagSource
from services.profiles.service_layer.coverage import rebuild_coverage
from services.profiles.service_layer.unit_of_work import ProfileStep, apply_once
from shared.maternal_infant import DEFAULT_TAXONOMY, Basis, StageDeclaration, load_taxonomy
from shared.storage import ensure_indexes, is_transient, retry_transient
from shared.wechat_client import UserInfo
from tests.conftest import Isolation

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
TAXONOMY = load_taxonomy(DEFAULT_TAXONOMY)
CODES = ("interest.toys", "interest.feeding.formula", "purchase.diapers")


def _change(rng: random.Random, at: datetime) -> Any:
    kind = rng.choice(["follow", "unfollow", "tag", "untag", "stage"])
    code = rng.choice(CODES)
    on = at.date() + timedelta(days=rng.randrange(-900, 300))
    basis = rng.choice([Basis.DUE_DATE, Basis.BIRTHDAY])

    def change(profile: Profile) -> list[Change] | None:
        if kind == "follow":
            return profile.followed(at - timedelta(minutes=rng.randrange(100)), "test")
        if kind == "unfollow":
            return profile.unfollowed(at - timedelta(minutes=rng.randrange(100)))
        if kind == "tag":
            return profile.add_tag(TAXONOMY, code, TagSource.OPS, at, actor="t")
        if kind == "untag":
            return profile.remove_tag(code, TagSource.OPS, at, "t") or None
        return profile.declare_stage(StageDeclaration(basis, at.date(), on), at)

    return change


async def _profiles(database: Any, appid: str) -> list[Profile]:
    return [profile async for profile in MongoProfileRepository(database).each(appid)]


async def _totals(database: Any, appid: str) -> dict[str, int]:
    return {k: n for k, n in (await MongoProfileRepository(database).coverage_totals(appid)).items() if n}


async def test_counters_follow_every_write_and_equal_a_recount(
    mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation, database: Any
) -> None:
    await ensure_indexes(database, INDEXES)
    rng = random.Random(7)
    clock = [T0]
    members = [("wx1", f"o{n}") for n in range(12)] + [("wx2", "o1")]

    def uow() -> MongoProfilesUnitOfWork:
        return MongoProfilesUnitOfWork(mongo, isolation.database, clock=lambda: clock[0])

    for batch in range(25):
        clock[0] += timedelta(hours=rng.choice([1, 9]))
        steps = [ProfileStep(f"e{batch}-{n}", rng.choice(members), _change(rng, clock[0])) for n in range(6)]
        if batch % 7 == 3:  # a transaction that fails after its writes counts nothing

            def fail(profile: Profile) -> list[Change]:
                raise RuntimeError("boom")

            with pytest.raises(RuntimeError):
                await apply_once(uow(), "test", [*steps, ProfileStep(f"boom{batch}", members[0], fail)])
        await apply_once(uow(), "test", steps)
        await apply_once(uow(), "test", steps[:2])  # a redelivery changes nothing

    for appid in ("wx1", "wx2"):
        totals = await _totals(database, appid)
        assert totals == recount(await _profiles(database, appid))
        summed: Counter[str] = Counter()
        days = await MongoProfileRepository(database).coverage_days(appid, T0.date())
        assert len(days) >= 2  # the writes spanned Beijing days
        for increments in days.values():
            summed.update(increments)
        assert {k: n for k, n in summed.items() if n} == daily_part(totals)

    # Lost counters (data from before them) are rebuilt from the profiles.
    await database[COVERAGE].delete_many({"appid": "wx1", "day": {"$exists": False}})
    repository = MongoProfileRepository(database)
    assert await rebuild_coverage(repository, repository, "wx1") == len(await _profiles(database, "wx1"))
    assert await _totals(database, "wx1") == recount(await _profiles(database, "wx1"))


async def test_concurrent_transactions_on_one_account_conflict_and_are_retried(
    mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation, database: Any
) -> None:
    await ensure_indexes(database, INDEXES)

    async def follow(openid: str) -> int:
        def step(profile: Profile) -> list[Change]:
            return profile.followed(T0, "test")

        return await retry_transient(
            lambda: apply_once(
                MongoProfilesUnitOfWork(mongo, isolation.database), "test", [ProfileStep(openid, ("wx1", openid), step)]
            ),
            attempts=40,
            pause=0.01,
        )

    assert sum(await asyncio.gather(*(follow(f"c{n}") for n in range(8)))) == 8
    totals = await _totals(database, "wx1")
    assert totals["f:members"] == totals["a:members"] == 8


async def test_the_follower_import_counts_new_followers_once(
    mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation, database: Any
) -> None:
    await ensure_indexes(database, INDEXES)
    sink = MongoFollowerImport(database)
    since = int(T0.timestamp())
    followers = [UserInfo(openid=f"i{n}", subscribe=1, subscribe_time=since) for n in range(5)]
    assert await sink.upsert_followers("wx1", followers) == 5
    assert await sink.upsert_followers("wx1", followers) == 0
    totals = await _totals(database, "wx1")
    assert totals == recount(await _profiles(database, "wx1"))
    assert totals["f:members"] == 5


async def test_a_conflict_on_the_counter_document_is_a_transient_storage_conflict(
    mongo: AsyncMongoClient[dict[str, Any]], isolation: Isolation, database: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two transactions of one account that land on the same shard document (writers pick one at
    random; here the same): the later committer's increment meets the earlier one's, and what it raises
    is what the worker's runner retries (is_transient) — nothing of it is kept."""
    await ensure_indexes(database, INDEXES)
    monkeypatch.setattr(random, "randrange", lambda stop: 0)  # the repository picks shards with it

    def followed(openid: str) -> Profile:
        profile = Profile("wx1", openid)
        profile.followed(T0, "test")
        return profile

    first = MongoProfilesUnitOfWork(mongo, isolation.database)
    second = MongoProfilesUnitOfWork(mongo, isolation.database)
    async with first:
        await first.profiles.save(followed("x1"), [])
        async with second:
            await second.profiles.save(followed("x2"), [])
            await second.commit()
        with pytest.raises(Exception) as raised:
            await first.commit()
    assert is_transient(raised.value), raised.value
    totals = await _totals(database, "wx1")
    assert totals["a:members"] == 1 and totals == recount(await _profiles(database, "wx1"))
