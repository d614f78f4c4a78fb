"""The account counters (members, following) equal a recount of the members after any sequence of
follows and unfollows, out of order and redelivered, through the handlers as the worker runs them."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from services.members.adapters.memory import InMemoryMembersUnitOfWork, InMemoryMemberViews
from services.members.bootstrap import bootstrap
from services.members.domain.model import Member, count_change
from services.members.settings import MembersSettings
from shared.contracts import MemberFollowed, MemberUnfollowed
from shared.events import Envelope

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
ACCOUNTS = ("wx1", "wx2")


def test_a_write_counts_a_new_member_and_a_change_of_following() -> None:
    fresh = Member("wx1", "o1")
    fresh.follow(T0, None)
    assert count_change(None, fresh) == {"members": 1, "following": 1}
    left = Member("wx1", "o1", following=False)
    assert count_change(fresh, left) == {"members": 0, "following": -1}
    assert count_change(left, left) == {"members": 0, "following": 0}
    assert count_change(None, Member("wx1", "o2")) == {"members": 1, "following": 0}


def random_events(rng: random.Random, n: int) -> list[tuple[str, MemberFollowed | MemberUnfollowed]]:
    """Follows and unfollows of a few members of two accounts at shuffled times, some repeated."""
    events: list[tuple[str, MemberFollowed | MemberUnfollowed]] = []
    for _ in range(n):
        appid, openid = rng.choice(ACCOUNTS), f"o{rng.randrange(12)}"
        at = T0 + timedelta(minutes=rng.randrange(10_000))
        event: MemberFollowed | MemberUnfollowed = (
            MemberFollowed(openid=openid, followed_at=at, scene=rng.choice([None, "qr", "r.c1.abc"]))
            if rng.random() < 0.6
            else MemberUnfollowed(openid=openid, unfollowed_at=at)
        )
        events.append((appid, event))
    return events


@pytest.mark.parametrize("seed", range(8))
async def test_counters_equal_a_recount_after_random_follows_and_unfollows(seed: int) -> None:
    rng = random.Random(seed)
    uow = InMemoryMembersUnitOfWork()
    views = InMemoryMemberViews(uow)
    delivered: list[tuple[Envelope, MemberFollowed | MemberUnfollowed]] = []
    async with bootstrap(MembersSettings(), uow=lambda: uow, views=views) as members:
        for n, (appid, event) in enumerate(random_events(rng, 120)):
            envelope = Envelope.wrap(event, appid=appid, key=event.openid, event_id=f"e{n}")
            delivered.append((envelope, event))
            await members.handle(envelope, event)
            if rng.random() < 0.25:  # a redelivery of something already handled
                await members.handle(*rng.choice(delivered))
        for appid in ACCOUNTS:
            counts = await views.counts(appid)
            recount = await views.recount(appid)
            assert (counts["members"], counts["following"]) == (recount["members"], recount["following"])
            assert counts["unfollowed"] == recount["members"] - recount["following"]


async def test_an_uncommitted_write_counts_nothing_and_a_rebuild_recounts() -> None:
    uow = InMemoryMembersUnitOfWork()
    views = InMemoryMemberViews(uow)
    async with uow:
        member = Member("wx1", "o1")
        member.follow(T0, None)
        await uow.members.save(member)  # no commit: the handler failed
    assert await views.counts("wx1") == {"members": 0, "following": 0, "unfollowed": 0}

    async with uow:
        await uow.members.save(member)
        await uow.commit()
    uow.counters["wx1"] = {"members": 7}  # damaged, or from before the counters
    assert await views.rebuild("wx1") == {"members": 1, "following": 1}
    assert await views.counts("wx1") == {"members": 1, "following": 1, "unfollowed": 0}
