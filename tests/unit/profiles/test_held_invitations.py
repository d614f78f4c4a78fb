"""H5 invitations that meet a closed window are held and go out with the member's next interaction
(issue 22, item 4), and every log line about one names the member by reference, never by openid.

The profiles worker's handler (``Profiles.handle_batch``) runs over in-memory profiles and a real
WeChat client talking to a small platform behind ``httpx.MockTransport``, so 45015 is the platform's
own answer, mapped by the client.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from structlog.testing import capture_logs

from services.profiles.adapters.memory import InMemoryHeldInvitations, InMemoryProfileStore
from services.profiles.bootstrap import Profiles, bootstrap
from services.profiles.domain.invitations import HOLD_FOR, HeldInvitation
from services.profiles.service_layer import h5
from services.profiles.settings import ProfilesSettings
from shared.contracts import MemberFollowed, MemberUnfollowed, MenuClicked, TextMessageReceived
from shared.events import Envelope, Message
from shared.observability import member_ref
from shared.wechat_client import MemoryTokenStore, WeChatApiConfig, WeChatClients
from tests.accounts import account

APPID = "wx1"
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@dataclass
class Platform:
    """Customer-service sends: refused with 45015 for members whose window is closed, 43004 for those
    who left, and otherwise kept; ``down`` answers 502 (the platform unreachable)."""

    closed: set[str] = field(default_factory=set)
    gone: set[str] = field(default_factory=set)
    down: bool = False
    inbox: list[tuple[str, str]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        api = request.url.path.removeprefix("/cgi-bin/")
        if api == "stable_token":
            return httpx.Response(200, json={"access_token": "T", "expires_in": 7200})
        assert api == "message/custom/send", api
        if self.down:
            return httpx.Response(502, text="bad gateway")
        body = json.loads(request.content)
        openid = body["touser"]
        if openid in self.gone:
            return httpx.Response(200, json={"errcode": 43004, "errmsg": "require subscribe"})
        if openid in self.closed:
            return httpx.Response(200, json={"errcode": 45015, "errmsg": "response out of time limit"})
        self.inbox.append((openid, body["text"]["content"]))
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})

    def invitations_of(self, openid: str) -> int:
        return sum(1 for to, text in self.inbox if to == openid and "/h5/wx1/interests?t=" in text)


@dataclass
class Worker:
    profiles: Profiles
    platform: Platform
    events: int = 0

    @property
    def held(self) -> dict[tuple[str, str], HeldInvitation]:
        store = self.profiles.held_invitations
        assert isinstance(store, InMemoryHeldInvitations)
        return store.held

    async def push(self, *messages: tuple[Message, str]) -> list[Envelope]:
        """One batch of the members' pushes, as the worker consumes them."""
        batch = []
        for message, openid in messages:
            self.events += 1
            envelope = Envelope.wrap(message, appid=APPID, key=openid, event_id=f"e{self.events}")
            batch.append((envelope, message))
        await self.profiles.handle_batch(batch)
        return [envelope for envelope, _ in batch]


@pytest.fixture
async def worker() -> AsyncIterator[Worker]:
    platform = Platform()
    settings = ProfilesSettings(environment="development", wechat_accounts=[account(APPID)])
    config = WeChatApiConfig(base_url="http://sim.test", retries=0)
    async with (
        WeChatClients(MemoryTokenStore(), config, transport=httpx.MockTransport(platform)) as clients,
        bootstrap(settings, publish=False, clients=clients, store=InMemoryProfileStore()) as profiles,
    ):
        clients.add(APPID, "secret-0123456789abcdef")
        yield Worker(profiles, platform)


def follow(openid: str, minutes: int = 0) -> tuple[Message, str]:
    return MemberFollowed(openid=openid, followed_at=T0 + timedelta(minutes=minutes)), openid


def says(openid: str, minutes: int, text: str = "你好") -> tuple[Message, str]:
    at = T0 + timedelta(minutes=minutes)
    return TextMessageReceived(openid=openid, received_at=at, msg_id=f"m{minutes}", content=text), openid


async def test_a_closed_window_holds_the_invitation_until_the_member_speaks(worker: Worker) -> None:
    worker.platform.closed.add("o_mom")
    with capture_logs() as logs:
        (followed,) = await worker.push(follow("o_mom"))
    assert worker.platform.invitations_of("o_mom") == 0
    assert list(worker.held) == [(APPID, "o_mom")]
    assert worker.held[(APPID, "o_mom")].reason.startswith("45015")
    (line,) = [entry for entry in logs if entry["event"].startswith("invitation held")]
    assert line["member"] == member_ref("o_mom") and line["event_id"] == followed.event_id
    assert "o_mom" not in json.dumps(logs, default=str), "logs name members by reference only"

    worker.platform.closed.discard("o_mom")  # speaking opens the window again
    with capture_logs() as logs:
        await worker.push(says("o_mom", 30))
    assert worker.platform.invitations_of("o_mom") == 1
    assert worker.held == {}
    assert [entry["event"] for entry in logs if "invitation" in entry["event"]] == ["held invitation sent"]

    await worker.push(says("o_mom", 31), (MenuClicked(openid="o_mom", clicked_at=T0, key="k"), "o_mom"))
    assert worker.platform.invitations_of("o_mom") == 1, "sent once, not with every later message"


async def test_still_closed_stays_held_and_counts_the_attempts(worker: Worker) -> None:
    worker.platform.closed.add("o_mom")
    await worker.push(follow("o_mom"))
    first = worker.held[(APPID, "o_mom")]
    await worker.push(says("o_mom", 5))
    held = worker.held[(APPID, "o_mom")]
    assert (held.attempts, held.held_at) == (2, first.held_at), "held since the follow, tried twice"
    assert worker.platform.invitations_of("o_mom") == 0


async def test_an_unreachable_platform_keeps_it_held_without_failing_the_batch(worker: Worker) -> None:
    worker.platform.closed.add("o_mom")
    await worker.push(follow("o_mom"))
    worker.platform.closed.clear()
    worker.platform.down = True
    await worker.push(says("o_mom", 5))  # no exception: the members' pushes are still applied
    assert (APPID, "o_mom") in worker.held
    worker.platform.down = False
    await worker.push(says("o_mom", 6))
    assert worker.platform.invitations_of("o_mom") == 1 and worker.held == {}


async def test_a_member_who_left_is_let_go(worker: Worker) -> None:
    worker.platform.closed.add("o_mom")
    await worker.push(follow("o_mom"))
    worker.platform.gone.add("o_mom")
    await worker.push((MenuClicked(openid="o_mom", clicked_at=T0, key="k"), "o_mom"))
    assert worker.held == {} and worker.platform.inbox == []


async def test_a_new_follow_sends_its_own_and_replaces_the_held_one(worker: Worker) -> None:
    worker.platform.closed.add("o_mom")
    await worker.push(follow("o_mom"))
    worker.platform.closed.clear()
    # Unfollow and follow again in one batch, then a message: one invitation, for the new follow.
    await worker.push(
        (MemberUnfollowed(openid="o_mom", unfollowed_at=T0 + timedelta(minutes=1)), "o_mom"),
        follow("o_mom", minutes=2),
        says("o_mom", 3),
    )
    assert worker.platform.invitations_of("o_mom") == 1
    assert worker.held == {}


async def test_a_redelivered_follow_invites_once(worker: Worker) -> None:
    message, openid = follow("o_dad")
    envelope = Envelope.wrap(message, appid=APPID, key=openid, event_id="follow-1")
    await worker.profiles.handle_batch([(envelope, message)])
    await worker.profiles.handle_batch([(envelope, message)])
    assert worker.platform.invitations_of("o_dad") == 1


async def test_a_hold_past_its_time_is_given_up() -> None:
    held = InMemoryHeldInvitations()
    await held.hold(HeldInvitation(APPID, "o_mom", T0, "45015: out of time"))
    platform = Platform()
    async with WeChatClients(MemoryTokenStore(), transport=httpx.MockTransport(platform)) as clients:
        messenger = clients.add(APPID, "secret-0123456789abcdef")
        later = T0 + HOLD_FOR + timedelta(minutes=1)
        assert await h5.invite_held(APPID, ["o_mom"], held, messenger, lambda openid: "link", later) == 0
    assert held.held == {} and platform.inbox == []


def test_member_references_are_stable_and_not_the_openid() -> None:
    assert member_ref("o_mom") == member_ref("o_mom") != member_ref("o_dad")
    assert member_ref("o_mom").startswith("m:") and "o_mom" not in member_ref("o_mom")
    assert len(member_ref("o_mom")) == 18
