"""The rollup worker's use case through its bootstrap, with the in-memory store: batches fold once,
redeliveries add nothing, write races are retried, other failures are the runner's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.analytics.adapters.memory_rollups import InMemoryRollupsUnitOfWork
from services.analytics.bootstrap_worker import bootstrap_worker
from services.analytics.service_layer.rollups import CONSUMER, Folded, RollupFolder
from services.analytics.settings import AnalyticsSettings
from shared.contracts import CampaignInviteCredited, MemberFollowed, MemberUnfollowed, MenuClicked
from shared.events import Envelope, Message
from shared.storage import StorageConflict
from tests.fakes.rollups import ConflictingRollupsUnitOfWork

APPID = "wx1"
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
DAY = "2026-12-01"


def env(message: Message, event_id: str, key: str = "o1") -> tuple[Envelope, Message]:
    return Envelope.wrap(message, appid=APPID, key=key, event_id=event_id), message


FOLLOW = env(MemberFollowed(openid="o1", followed_at=T0, scene="r.c1.p1"), "f1")
CREDIT = env(CampaignInviteCredited(openid="o0", campaign_id="c1", invitee_openid="o1", credited_at=T0), "cr1", "o0")
UNFOLLOW = env(MemberUnfollowed(openid="o1", unfollowed_at=T0 + timedelta(days=1)), "u1")


async def test_a_batch_folds_once_and_a_redelivery_adds_nothing() -> None:
    uow = InMemoryRollupsUnitOfWork()
    async with bootstrap_worker(AnalyticsSettings(), uow=lambda: uow) as worker:
        await worker.ready()
        first = await worker.handle_batch([FOLLOW, CREDIT, FOLLOW])
        assert first == Folded(events=2, rollups=2, followers=1)
        assert await worker.handle_batch([FOLLOW, CREDIT, UNFOLLOW]) == Folded(events=1, rollups=2, followers=1)
        before = uow.counters()
        assert await worker.handle_batch([UNFOLLOW, FOLLOW]) == Folded()
        assert await worker.handle(*CREDIT) == Folded()
    assert uow.counters() == before
    assert before[(APPID, "account", DAY)] == {"follows": 1, "follows:poster": 1, "credited": 1}
    assert before[(APPID, "account", "2026-12-02")] == {"unfollows": 1, "unfollows:poster": 1}
    assert before[(APPID, "campaign:c1", DAY)] == {"credited": 1, "invitees_lost_7d": 1, "invitees_lost_30d": 1}
    assert uow.documents[f"{APPID}|campaign:c1|{DAY}"]["scope"] == "campaign:c1"
    assert uow.processed == {f"{CONSUMER}:f1", f"{CONSUMER}:cr1", f"{CONSUMER}:u1"}
    follower = uow.committed_followers[(APPID, "o1")]
    assert (follower.source, follower.credits, follower.unfollows) == ("poster", {"c1": T0}, [T0 + timedelta(days=1)])


async def test_events_the_rollups_do_not_count_are_not_even_claimed() -> None:
    uow = InMemoryRollupsUnitOfWork()
    folder = RollupFolder(lambda: uow)
    assert await folder.fold([env(MenuClicked(openid="o1", clicked_at=T0, key="k"), "m1")]) == Folded()
    assert uow.processed == set() and uow.commits == 0


async def _no_sleep(_: float) -> None:
    return None


async def test_a_lost_write_race_is_retried_and_counted_once() -> None:
    uow = ConflictingRollupsUnitOfWork(conflicts=2)
    folder = RollupFolder(lambda: uow, attempts=3, sleep=_no_sleep)
    assert (await folder.fold([FOLLOW])).events == 1
    assert uow.counters()[(APPID, "account", DAY)] == {"follows": 1, "follows:poster": 1}


async def test_a_race_lost_too_often_goes_to_the_runner_with_nothing_written() -> None:
    uow = ConflictingRollupsUnitOfWork(conflicts=5)
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    folder = RollupFolder(lambda: uow, attempts=3, pause=0.01, sleep=sleep)
    with pytest.raises(StorageConflict):
        await folder.fold([FOLLOW])
    assert uow.counters() == {} and uow.processed == set()
    assert len(pauses) == 2 and 0.01 <= pauses[0] <= 0.02 and 0.02 <= pauses[1] <= 0.04


class Broken(InMemoryRollupsUnitOfWork):
    async def claim_many(self, consumer: str, event_ids: object) -> set[str]:
        raise RuntimeError("not a race")


async def test_other_failures_are_not_retried_here() -> None:
    folder = RollupFolder(Broken, sleep=_no_sleep)
    with pytest.raises(RuntimeError, match="not a race"):
        await folder.fold([FOLLOW])
