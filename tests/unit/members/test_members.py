from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.members.bootstrap import bootstrap
from services.members.domain.model import Member
from services.members.settings import MembersSettings
from shared.contracts import MemberFollowed, MemberUnfollowed, PushReceived
from shared.events import Envelope
from tests.fakes import FakeUnitOfWork

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_follow_then_unfollow() -> None:
    member = Member("wx1", "o1")
    member.follow(T0, "poster-1")
    assert (member.following, member.is_new, member.first_scene) == (True, True, "poster-1")
    member.unfollow(T0 + timedelta(hours=1))
    assert member.following is False


def test_out_of_order_pushes_settle_on_the_newest() -> None:
    member = Member("wx1", "o1")
    member.unfollow(T0 + timedelta(minutes=5))
    member.follow(T0, None)
    following_after_stale_follow = member.following
    member.follow(T0 + timedelta(minutes=10), "again")
    assert (following_after_stale_follow, member.following) == (False, True)
    assert member.first_scene is None and member.follow_count == 2 and not member.is_new


def test_first_scene_is_the_earliest_follow() -> None:
    member = Member("wx1", "o1")
    member.follow(T0 + timedelta(days=1), "late")
    member.follow(T0, "early")
    assert member.first_scene == "early" and member.first_followed_at == T0


def envelope(event: MemberFollowed | MemberUnfollowed | PushReceived, event_id: str) -> Envelope:
    return Envelope.wrap(event, appid="wx1", key=event.openid, event_id=event_id)


async def test_handlers_apply_each_event_once() -> None:
    uow = FakeUnitOfWork()
    async with bootstrap(MembersSettings(), uow=lambda: uow) as members:
        follow = MemberFollowed(openid="o1", followed_at=T0, scene="s")
        await members.handle(envelope(follow, "e1"), follow)
        await members.handle(envelope(follow, "e1"), follow)  # redelivered
        assert uow.committed[("wx1", "o1")].follow_count == 1
        assert uow.commits == 1

        leave = MemberUnfollowed(openid="o1", unfollowed_at=T0 + timedelta(hours=1))
        await members.handle(envelope(leave, "e2"), leave)
        assert not uow.committed[("wx1", "o1")].following


async def test_events_the_service_does_not_need_are_ignored() -> None:
    uow = FakeUnitOfWork()
    async with bootstrap(MembersSettings(), uow=lambda: uow) as members:
        text = PushReceived(openid="o1", msg_type="text", received_at=T0, fields={"Content": "hi"})
        await members.handle(envelope(text, "e3"), text)
    assert uow.committed == {} and uow.commits == 0
