"""Contract tests: the real Official Account API client against the real platform simulator.

Both run in this process: the client's transport is ``httpx.ASGITransport`` over the simulator's
FastAPI app (lifespan included), so no socket is opened. Members act through the simulator's own
``/sim/`` routes, and every inbox is read there too. One clock drives both sides: the simulator's
``ManualClock``, which the client reads through :class:`SharedClock`; a client sleep (backoff, rate
limit) moves simulated time instead of waiting. Pushes go to a sender that acknowledges everything.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.wechat_sim.adapters.qr import OpenCvQrCodec
from services.wechat_sim.domain.calendar import BEIJING
from services.wechat_sim.domain.clock import ManualClock
from services.wechat_sim.entrypoints.http import create_app
from services.wechat_sim.settings import WeChatSimSettings
from shared.wechat_client import (
    AccessTokenInvalid,
    Clock,
    CustomerServiceCountExceeded,
    FollowerPage,
    InvalidMediaId,
    InvalidOpenid,
    InvalidRequest,
    MemoryTokenStore,
    NotFollower,
    OutsideCustomerServiceWindow,
    PlatformBusy,
    QuotaExceeded,
    RecipientUnavailable,
    SubscriptionConsentMissing,
    TagError,
    TagLimitReached,
    TagRejected,
    Text,
    WeChatApiConfig,
    WeChatClient,
)
from tests.accounts import AES_KEY, account
from tests.fakes.push_sender import AckSender

APPID = "wxcontract0001"
SECRET = "contract-app-secret-0"
#: 2024-04-25 17:15:04 Beijing time
START = 1_714_036_504.0
SIM_URL = "http://wechat-sim.test"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_settings(**overrides: Any) -> WeChatSimSettings:
    values: dict[str, Any] = {
        "environment": "test",
        "wechat_accounts": [account(APPID, token="push-token", encoding_aes_key=AES_KEY, secret=SECRET)],
        "job_push_delay_seconds": 3600,  # job-finish pushes are not part of this contract
    } | overrides
    return WeChatSimSettings(**values)


class SharedClock(Clock):
    """The client's clock over the simulator's: sleeping advances simulated time and is recorded."""

    def __init__(self, sim_clock: ManualClock) -> None:
        self.sim_clock = sim_clock
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.sim_clock.now()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.sim_clock.now(), UTC)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.sim_clock.advance(seconds)
        await asyncio.sleep(0)


class RecordingTransport(httpx.AsyncBaseTransport):
    """The client's way to the simulator, noting every request it makes."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()

    def calls(self, api: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == f"/cgi-bin/{api}"]

    def apis(self, since: int = 0) -> list[str]:
        return [r.url.path.removeprefix("/cgi-bin/") for r in self.requests[since:]]


def token_of(request: httpx.Request) -> str | None:
    token: str | None = request.url.params.get("access_token")
    return token


def body_of(request: httpx.Request) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(request.content)
    return body


@dataclass
class Sim:
    """The simulator's sim-only API (members act, inboxes, faults), over HTTP."""

    http: httpx.AsyncClient
    clock: ManualClock
    settings: WeChatSimSettings

    async def _post(self, path: str, body: object = None, *, expect: int = 200) -> Any:
        response = await self.http.post(f"/sim/accounts/{APPID}/{path}", json=body)
        assert response.status_code == expect, response.text
        return response.json()

    async def add_member(self, openid: str, *, following: bool = True) -> None:
        """A member from before the simulation: no push, and no customer-service window open."""
        await self._post("members", {"openid": openid, "following": following}, expect=201)

    async def follow(self, openid: str, *, ticket: str | None = None) -> None:
        await self._post(f"members/{openid}/follow", {"ticket": ticket} if ticket else None)

    async def unfollow(self, openid: str) -> None:
        await self._post(f"members/{openid}/unfollow")

    async def write(self, openid: str, content: str) -> None:
        await self._post(f"members/{openid}/text", {"content": content})

    async def consent(self, openid: str, template_id: str) -> None:
        await self._post(f"members/{openid}/consent", {"template_id": template_id})

    async def member(self, openid: str) -> dict[str, Any]:
        response = await self.http.get(f"/sim/accounts/{APPID}/members/{openid}")
        assert response.status_code == 200, response.text
        member: dict[str, Any] = response.json()
        return member

    async def inbox(self, openid: str) -> list[dict[str, Any]]:
        response = await self.http.get(f"/sim/accounts/{APPID}/members/{openid}/inbox")
        assert response.status_code == 200, response.text
        messages: list[dict[str, Any]] = response.json()["messages"]
        return messages

    async def inject_fault(self, api: str, errcode: int, *, count: int = 1) -> None:
        await self._post("faults", {"api": api, "errcode": errcode, "count": count}, expect=201)


@dataclass
class Harness:
    sim: Sim
    client: WeChatClient
    wire: RecordingTransport
    clock: SharedClock
    store: MemoryTokenStore
    config: WeChatApiConfig

    @property
    def settings(self) -> WeChatSimSettings:
        return self.sim.settings


@asynccontextmanager
async def running(**overrides: Any) -> AsyncIterator[Harness]:
    settings = make_settings(**overrides)
    sim_clock = ManualClock(START)
    app = create_app(settings, clock=sim_clock, sender=AckSender())
    config = WeChatApiConfig(base_url=SIM_URL, qr_image_base_url=SIM_URL)
    async with app.router.lifespan_context(app):
        wire = RecordingTransport(httpx.ASGITransport(app=app))
        clock = SharedClock(sim_clock)
        store = MemoryTokenStore()
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SIM_URL) as sim_http,
            WeChatClient(APPID, SECRET, token_store=store, config=config, transport=wire, clock=clock) as client,
        ):
            yield Harness(Sim(sim_http, sim_clock, settings), client, wire, clock, store, config)


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    async with running() as harness:
        yield harness


def texts(inbox: list[dict[str, Any]], channel: str) -> list[str]:
    return [m["payload"]["content"] for m in inbox if m["channel"] == channel]


# -- tokens ------------------------------------------------------------------------------------------


async def test_token_comes_from_stable_token_once_and_is_reused(h: Harness) -> None:
    for _ in range(3):
        await h.client.list_followers()
    [token_call] = h.wire.calls("stable_token")
    assert token_call.method == "POST"
    assert body_of(token_call) == {
        "grant_type": "client_credential",
        "appid": APPID,
        "secret": SECRET,
        "force_refresh": False,
    }
    tokens = {token_of(r) for r in h.wire.calls("user/get")}
    assert len(tokens) == 1 and None not in tokens
    assert not h.wire.calls("token")  # the classic endpoint would invalidate other deployments' tokens


async def test_token_is_renewed_transparently_once_the_ttl_passed(h: Harness) -> None:
    await h.client.list_followers()
    first = token_of(h.wire.calls("user/get")[0])
    h.sim.clock.advance(h.settings.token_ttl_seconds + 1)
    stale = await h.sim.http.get("/cgi-bin/user/get", params={"access_token": first or ""})
    assert stale.json()["errcode"] == 42001  # the platform no longer takes it

    before = len(h.wire.requests)
    await h.client.list_followers()
    assert h.wire.apis(before) == ["stable_token", "user/get"]  # refreshed first, never rejected
    renewed = token_of(h.wire.requests[-1])
    assert renewed and renewed != first
    assert len(h.wire.calls("stable_token")) == 2
    assert not any(body_of(r)["force_refresh"] for r in h.wire.calls("stable_token"))


async def test_token_near_its_end_is_replaced_by_the_platforms_next_one(h: Harness) -> None:
    await h.client.list_followers()
    first = token_of(h.wire.requests[-1])
    # Inside the client's refresh margin, which lies inside the platform's last five minutes.
    h.sim.clock.advance(h.settings.token_ttl_seconds - h.config.token_refresh_margin + 1)
    await h.client.list_followers()
    assert len(h.wire.calls("stable_token")) == 2
    assert token_of(h.wire.requests[-1]) != first


async def test_a_token_replaced_elsewhere_is_picked_up_and_the_call_retried_once(h: Harness) -> None:
    await h.client.list_followers()
    ours = token_of(h.wire.requests[-1])
    # Another deployment force-refreshes: the platform revokes our token at once.
    forced = await h.sim.http.post(
        "/cgi-bin/stable_token",
        json={"grant_type": "client_credential", "appid": APPID, "secret": SECRET, "force_refresh": True},
    )
    theirs = forced.json()["access_token"]
    # No clock advance: a second forced refresh within 30 s would be refused (45011), so the client
    # must pick the replacement up in normal mode instead of forcing again.
    before = len(h.wire.requests)
    page = await h.client.list_followers()
    assert page.total == 0
    assert h.wire.apis(before) == ["user/get", "stable_token", "user/get"]
    rejected, refresh, retried = h.wire.requests[before:]
    assert token_of(rejected) == ours
    assert body_of(refresh)["force_refresh"] is False
    assert token_of(retried) == theirs


async def test_a_token_rejected_again_after_the_refresh_is_not_retried_twice(h: Harness) -> None:
    await h.client.list_followers()
    await h.sim.inject_fault("user/get", 40001, count=2)
    before = len(h.wire.requests)
    with pytest.raises(AccessTokenInvalid) as caught:
        await h.client.list_followers()
    assert caught.value.errcode == 40001
    # Normal mode hands the same (still valid) token back, so the client forces a new one, retries
    # once, and gives up when that is rejected too.
    assert h.wire.apis(before) == ["user/get", "stable_token", "stable_token", "user/get"]
    normal, forced = h.wire.requests[before + 1 : before + 3]
    assert (body_of(normal)["force_refresh"], body_of(forced)["force_refresh"]) == (False, True)


# -- QR codes ----------------------------------------------------------------------------------------


async def test_qr_codes_render_as_png_and_a_follow_through_them_shows_in_user_info(h: Harness) -> None:
    temporary = await h.client.create_qrcode("spring-poster", expire_seconds=3600)
    permanent = await h.client.create_qrcode(4242, permanent=True)
    assert temporary.expire_seconds == 3600
    assert permanent.expire_seconds is None
    assert body_of(h.wire.calls("qrcode/create")[0])["action_name"] == "QR_STR_SCENE"
    assert body_of(h.wire.calls("qrcode/create")[1])["action_name"] == "QR_LIMIT_SCENE"

    for qr in (temporary, permanent):
        png = await h.client.qrcode_image(qr.ticket)
        assert png.startswith(PNG_MAGIC)
        assert OpenCvQrCodec().decode(png) == qr.url
    assert all(token_of(r) is None for r in h.wire.calls("showqrcode"))  # the image needs no token

    await h.sim.follow("o_poster_fan", ticket=temporary.ticket)
    await h.sim.follow("o_desk_fan", ticket=permanent.ticket)
    for openid, scene_id, scene_str in (("o_poster_fan", 0, "spring-poster"), ("o_desk_fan", 4242, "")):
        info = await h.client.user_info(openid)
        seen_by_sim = await h.sim.member(openid)
        assert info.follows
        assert info.subscribe_time == int(START)
        assert info.subscribe_scene == seen_by_sim["subscribe_scene"] == "ADD_SCENE_QR_CODE"
        assert info.qr_scene == seen_by_sim["qr_scene"] == scene_id
        assert info.qr_scene_str == seen_by_sim["qr_scene_str"] == scene_str


# -- media -------------------------------------------------------------------------------------------


async def test_uploaded_media_comes_back_byte_for_byte_and_unknown_media_is_invalid(h: Harness) -> None:
    content = PNG_MAGIC + bytes(range(256)) * 4
    uploaded = await h.client.upload_media("image", "poster.png", content)
    assert uploaded.type == "image" and uploaded.created_at == int(START)
    assert await h.client.get_media(uploaded.media_id) == content

    with pytest.raises(InvalidMediaId) as caught:
        await h.client.get_media("no-such-media-id")
    assert caught.value.errcode == 40007

    h.sim.clock.advance(h.settings.media_ttl_seconds)  # temporary media are kept three days
    with pytest.raises(InvalidMediaId):
        await h.client.get_media(uploaded.media_id)


# -- customer-service messages -----------------------------------------------------------------------


async def test_custom_messages_need_the_window_a_member_message_opens(h: Harness) -> None:
    await h.sim.add_member("o_writer")
    with pytest.raises(OutsideCustomerServiceWindow) as outside:
        await h.client.send_custom_message("o_writer", Text(content="hello?"))
    assert outside.value.errcode == 45015

    await h.sim.write("o_writer", "请问门店几点开门？")
    allowed = h.settings.cs_message_window_count
    assert allowed == 5
    for i in range(allowed):
        await h.client.send_custom_message("o_writer", Text(content=f"answer {i}"))
    before = len(h.wire.requests)
    with pytest.raises(CustomerServiceCountExceeded) as exceeded:
        await h.client.send_custom_message("o_writer", Text(content="one too many"))
    assert exceeded.value.errcode == 45047
    assert isinstance(exceeded.value, RecipientUnavailable)
    assert h.wire.apis(before) == ["message/custom/send"]  # a refused send is never repeated

    assert texts(await h.sim.inbox("o_writer"), "custom") == [f"answer {i}" for i in range(allowed)]

    h.sim.clock.advance(h.settings.cs_message_window_seconds)
    with pytest.raises(OutsideCustomerServiceWindow):
        await h.client.send_custom_message("o_writer", Text(content="two days later"))


async def test_custom_messages_after_a_follow_follow_the_event_rule(h: Harness) -> None:
    await h.sim.follow("o_new_fan")
    allowed = h.settings.cs_event_window_count
    assert allowed == 3
    for i in range(allowed):
        await h.client.send_custom_message("o_new_fan", Text(content=f"welcome {i}"))
    with pytest.raises(CustomerServiceCountExceeded):
        await h.client.send_custom_message("o_new_fan", Text(content="welcome again"))
    assert texts(await h.sim.inbox("o_new_fan"), "custom") == [f"welcome {i}" for i in range(allowed)]

    await h.sim.follow("o_later_fan")
    h.sim.clock.advance(h.settings.cs_event_window_seconds)
    with pytest.raises(OutsideCustomerServiceWindow):
        await h.client.send_custom_message("o_later_fan", Text(content="too late"))
    assert await h.sim.inbox("o_later_fan") == []


# -- template and subscription messages --------------------------------------------------------------


async def test_template_messages_reach_followers_only(h: Harness) -> None:
    await h.sim.follow("o_gone")
    await h.sim.unfollow("o_gone")
    with pytest.raises(NotFollower) as caught:
        await h.client.send_template("o_gone", "TPL_SHIPPED", {"thing1": "订单已发货"})
    assert caught.value.errcode == 43004

    await h.sim.add_member("o_buyer")
    msgid = await h.client.send_template(
        "o_buyer", "TPL_SHIPPED", {"thing1": "订单已发货"}, url="https://shop.example.com/orders/1"
    )
    [entry] = await h.sim.inbox("o_buyer")
    assert entry["channel"] == "template" and entry["ref"] == str(msgid)
    assert entry["payload"] == {
        "template_id": "TPL_SHIPPED",
        "data": {"thing1": {"value": "订单已发货"}},
        "url": "https://shop.example.com/orders/1",
    }
    assert await h.sim.inbox("o_gone") == []


async def test_subscription_notices_need_consent(h: Harness) -> None:
    await h.sim.add_member("o_subscriber")
    data = {"thing1": "预约成功", "time2": "2024-04-26 10:00"}
    with pytest.raises(SubscriptionConsentMissing) as caught:
        await h.client.send_subscribe_message("o_subscriber", "SUB_BOOKING", data)
    assert caught.value.errcode == 43101

    await h.sim.consent("o_subscriber", "SUB_BOOKING")
    await h.client.send_subscribe_message("o_subscriber", "SUB_BOOKING", data, page="pages/booking/index")
    [entry] = await h.sim.inbox("o_subscriber")
    assert entry["channel"] == "subscribe"
    assert entry["payload"]["template_id"] == "SUB_BOOKING"
    assert entry["payload"]["data"] == {key: {"value": value} for key, value in data.items()}
    assert entry["payload"]["page"] == "pages/booking/index"

    with pytest.raises(SubscriptionConsentMissing):  # a one-time consent is used up
        await h.client.send_subscribe_message("o_subscriber", "SUB_BOOKING", data)


# -- tags ----------------------------------------------------------------------------------------------


async def test_tag_names_are_unique(h: Harness) -> None:
    vip = await h.client.create_tag("VIP")
    assert vip.name == "VIP"
    with pytest.raises(TagRejected) as caught:
        await h.client.create_tag("VIP")
    assert caught.value.errcode == 45157
    assert isinstance(caught.value, TagError)
    second = await h.client.create_tag("VIP 2")
    assert second.id != vip.id

    # The client has no tags/get; read the listing with the token the client stored.
    token = await h.store.load(APPID)
    assert token is not None
    listing = await h.sim.http.get("/cgi-bin/tags/get", params={"access_token": token.value})
    tags = {tag["id"]: tag["name"] for tag in listing.json()["tags"]}
    assert tags[vip.id] == "VIP" and tags[second.id] == "VIP 2"
    assert list(tags.values()).count("VIP") == 1


async def test_tagging_more_than_50_is_refused_before_any_call(h: Harness) -> None:
    openids = [f"o_batch_{i:02d}" for i in range(51)]
    for openid in openids:
        await h.sim.add_member(openid)
    tag = await h.client.create_tag("campaign")

    before = len(h.wire.requests)
    with pytest.raises(InvalidRequest):
        await h.client.tag_members(tag.id, openids)
    assert len(h.wire.requests) == before

    await h.client.tag_members(tag.id, openids[:50])
    infos = await h.client.user_info_batch(openids[:50])
    assert [info.openid for info in infos] == openids[:50]
    assert all(info.tagid_list == (tag.id,) for info in infos)
    assert (await h.client.user_info(openids[50])).tagid_list == ()


async def test_a_member_carries_at_most_20_tags(h: Harness) -> None:
    await h.sim.add_member("o_collector")
    limit = h.settings.tags_per_member
    assert limit == 20
    tags = [await h.client.create_tag(f"interest-{i}") for i in range(limit + 1)]
    for tag in tags[:limit]:
        await h.client.tag_members(tag.id, ["o_collector"])
    with pytest.raises(TagLimitReached) as caught:
        await h.client.tag_members(tags[limit].id, ["o_collector"])
    assert caught.value.errcode == 45059
    assert (await h.client.user_info("o_collector")).tagid_list == tuple(tag.id for tag in tags[:limit])


async def test_mass_send_by_tag_reaches_the_tagged_followers(h: Harness) -> None:
    for openid in ("o_mass_a", "o_mass_b", "o_mass_other"):
        await h.sim.add_member(openid)
    tag = await h.client.create_tag("april-event")
    await h.client.tag_members(tag.id, ["o_mass_a", "o_mass_b"])

    result = await h.client.mass_send_by_tag(Text(content="四月会员日"), tag_id=tag.id)
    assert body_of(h.wire.calls("message/mass/sendall")[0])["filter"] == {"is_to_all": False, "tag_id": tag.id}
    for openid in ("o_mass_a", "o_mass_b"):
        [entry] = await h.sim.inbox(openid)
        assert entry["channel"] == "mass" and entry["ref"] == str(result.msg_id)
        assert entry["payload"] == {"content": "四月会员日"}
    assert await h.sim.inbox("o_mass_other") == []


async def test_the_fifth_mass_message_of_a_month_does_not_reach_a_member(h: Harness) -> None:
    limit = h.settings.mass_monthly_limit
    assert limit == 4
    await h.sim.add_member("o_regular")
    await h.sim.add_member("o_newcomer")
    tag = await h.client.create_tag("newsletter")
    await h.client.tag_members(tag.id, ["o_regular"])
    for issue in range(1, limit + 1):
        await h.client.mass_send_by_tag(Text(content=f"issue {issue}"), tag_id=tag.id)
    await h.client.tag_members(tag.id, ["o_newcomer"])

    fifth = await h.client.mass_send_by_tag(Text(content=f"issue {limit + 1}"), tag_id=tag.id)
    regular = await h.sim.inbox("o_regular")
    assert texts(regular, "mass") == [f"issue {i}" for i in range(1, limit + 1)]
    assert str(fifth.msg_id) not in {m["ref"] for m in regular}
    [newcomer] = await h.sim.inbox("o_newcomer")
    assert newcomer["ref"] == str(fifth.msg_id)

    # A new calendar month (Beijing time) starts the count again.
    now = datetime.fromtimestamp(h.sim.clock.now(), BEIJING)
    next_month = (now.replace(day=28) + timedelta(days=4)).replace(day=1, hour=0, minute=0, second=1)
    h.sim.clock.advance(next_month.timestamp() - h.sim.clock.now())
    may = await h.client.mass_send_by_tag(Text(content="may issue"), tag_id=tag.id)
    assert (await h.sim.inbox("o_regular"))[-1]["ref"] == str(may.msg_id)


# -- users -----------------------------------------------------------------------------------------------


async def test_user_info_of_a_non_follower_says_nothing_else(h: Harness) -> None:
    await h.sim.follow("o_left")
    await h.sim.unfollow("o_left")
    info = await h.client.user_info("o_left")
    assert info.subscribe == 0 and not info.follows
    assert info.model_fields_set == {"subscribe", "openid"}  # nothing else came over the wire
    assert info.subscribe_time is None and info.subscribe_scene is None and info.tagid_list == ()

    with pytest.raises(InvalidOpenid):
        await h.client.user_info("o_never_seen")


async def test_user_info_batch_answers_in_the_order_asked(h: Harness) -> None:
    await h.sim.add_member("o_one")
    await h.sim.add_member("o_two", following=False)
    await h.sim.follow("o_three")
    infos = await h.client.user_info_batch(["o_three", "o_two", "o_one"])
    assert [(i.openid, i.subscribe) for i in infos] == [("o_three", 1), ("o_two", 0), ("o_one", 1)]
    assert infos[0].subscribe_scene == "ADD_SCENE_SEARCH"
    assert len(h.wire.calls("user/info/batchget")) == 1


async def test_list_followers_pages_with_next_openid() -> None:
    async with running(user_get_page_size=3) as h:
        openids = [f"o_fan_{i}" for i in range(8)]
        for i, openid in enumerate(openids):
            await h.sim.add_member(openid, following=i != 4)
        pages: list[FollowerPage] = [await h.client.list_followers()]
        while not pages[-1].is_last:
            pages.append(await h.client.list_followers(pages[-1].next_openid))
        assert [p.count for p in pages] == [3, 3, 1, 0]
        assert all(p.total == 7 for p in pages)
        assert [p.next_openid for p in pages[:-1]] == [p.openids[-1] for p in pages[:-1]]
        assert pages[-1].next_openid == "" and pages[-1].openids == ()
        assert [o for p in pages for o in p.openids] == [o for i, o in enumerate(openids) if i != 4]
        asked = [r.url.params["next_openid"] for r in h.wire.calls("user/get")]
        assert asked == ["", "o_fan_2", "o_fan_6", "o_fan_7"]


# -- faults and the retry policy -------------------------------------------------------------------------


FAN = "o_fault_fan"


async def test_system_busy_is_retried_with_backoff(h: Harness) -> None:
    await h.sim.add_member(FAN)
    await h.client.user_info(FAN)  # token fetched; from here on only user/info is called
    await h.sim.inject_fault("user/info", -1)
    before = len(h.wire.requests)
    assert (await h.client.user_info(FAN)).follows
    assert h.wire.apis(before) == ["user/info", "user/info"]
    assert h.clock.sleeps == [h.config.retry_delay(1)]

    h.clock.sleeps.clear()
    await h.sim.inject_fault("user/info", -1, count=h.config.retries + 1)
    before = len(h.wire.requests)
    with pytest.raises(PlatformBusy):
        await h.client.user_info(FAN)
    assert h.wire.apis(before) == ["user/info"] * (h.config.retries + 1)
    assert h.clock.sleeps == [h.config.retry_delay(n) for n in range(1, h.config.retries + 1)]


async def test_daily_quota_is_raised_at_once_with_the_wait_until_beijing_midnight(h: Harness) -> None:
    await h.sim.add_member(FAN)
    await h.client.user_info(FAN)
    await h.sim.inject_fault("user/info", 45009)
    before = len(h.wire.requests)
    with pytest.raises(QuotaExceeded) as caught:
        await h.client.user_info(FAN)
    assert caught.value.errcode == 45009 and caught.value.daily
    assert h.wire.apis(before) == ["user/info"]
    assert h.clock.sleeps == []
    now = datetime.fromtimestamp(h.sim.clock.now(), BEIJING)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    assert caught.value.retry_after == pytest.approx((midnight - now).total_seconds())


async def test_minute_quota_is_waited_out_then_raised(h: Harness) -> None:
    await h.sim.add_member(FAN)
    await h.client.user_info(FAN)
    waits = h.config.minute_quota_retries
    expected_sleeps = [h.config.minute_quota_delay(n) for n in range(1, waits + 1)]

    await h.sim.inject_fault("user/info", 45011, count=waits)
    before = len(h.wire.requests)
    assert (await h.client.user_info(FAN)).follows
    assert h.wire.apis(before) == ["user/info"] * (waits + 1)
    assert h.clock.sleeps == expected_sleeps

    h.clock.sleeps.clear()
    await h.sim.inject_fault("user/info", 45011, count=waits + 1)
    before = len(h.wire.requests)
    with pytest.raises(QuotaExceeded) as caught:
        await h.client.user_info(FAN)
    assert caught.value.errcode == 45011 and not caught.value.daily
    assert caught.value.retry_after == 60
    assert h.wire.apis(before) == ["user/info"] * (waits + 1)
    assert h.clock.sleeps == expected_sleeps
