"""The Official Account API client against a tiny in-test platform behind ``httpx.MockTransport``.

The fake platform issues tokens the way ``stable_token`` does (same token until its last 300 s, a new
one on ``force_refresh``), rejects any other token with 40001, and answers each API from a script or
a default. A fake clock stands in for time: sleeping advances it, so nothing here really waits.
"""

from __future__ import annotations

import asyncio
import json
import logging
import pickle
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import structlog

from shared.wechat import WeChatAccount, WeChatError
from shared.wechat_client import (
    AccessToken,
    AccessTokenInvalid,
    Article,
    Clock,
    CredentialsRejected,
    CustomerServiceCountExceeded,
    Image,
    InvalidMediaId,
    InvalidOpenid,
    InvalidRequest,
    MemoryTokenStore,
    MiniProgram,
    MpNews,
    News,
    NotFollower,
    OutsideCustomerServiceWindow,
    PlatformBusy,
    QuotaExceeded,
    RateLimit,
    RateLimiter,
    RecipientUnavailable,
    SubscriptionConsentMissing,
    TagLimitReached,
    TagRejected,
    Text,
    TransportError,
    WeChatApiConfig,
    WeChatApiError,
    WeChatClient,
    WeChatClients,
)

APPID = "wx0000000000000001"
SECRET = "s3cr3t-app-secret-value"
START = datetime(2025, 3, 1, 15, 0, tzinfo=UTC)  # 23:00 in Beijing: the daily quota resets in 1 h
PNG = b"\x89PNG\r\n\x1a\nfake-image"


class FakeClock(Clock):
    def __init__(self) -> None:
        self.elapsed = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.elapsed

    def now(self) -> datetime:
        return START + timedelta(seconds=self.elapsed)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.elapsed += seconds
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.elapsed += seconds


Answer = dict[str, Any] | httpx.Response | Exception


@dataclass
class Call:
    api: str
    request: httpx.Request
    at: float

    @property
    def body(self) -> Any:
        return json.loads(self.request.content)


@dataclass
class FakePlatform:
    """Just enough of api.weixin.qq.com (and mp.weixin.qq.com's showqrcode) to exercise the client."""

    clock: FakeClock
    token_lifetime: int = 7200
    calls: list[Call] = field(default_factory=list)
    script: dict[str, list[Answer]] = field(default_factory=dict)
    valid: dict[str, datetime] = field(default_factory=dict)
    current: str | None = None
    issued: int = 0
    forced: int = 0

    def then(self, api: str, *answers: Answer) -> None:
        self.script.setdefault(api, []).extend(answers)

    def revoke_all(self) -> None:
        self.valid.clear()

    def api_calls(self, api: str) -> list[Call]:
        return [call for call in self.calls if call.api == api]

    @property
    def token_calls(self) -> list[Call]:
        return self.api_calls("stable_token")

    async def handle(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)  # let concurrent callers interleave, as over a real network
        api = request.url.path.removeprefix("/cgi-bin/")
        self.calls.append(Call(api, request, self.clock.elapsed))
        if api == "stable_token":
            return self._stable_token(request)
        if api != "showqrcode":
            token = request.url.params.get("access_token")
            if token is None or self.valid.get(token, START) <= self.clock.now():
                return httpx.Response(200, json={"errcode": 40001, "errmsg": "invalid credential rid: 1"})
        if self.script.get(api):
            answer = self.script[api].pop(0)
            if isinstance(answer, Exception):
                raise answer
            if isinstance(answer, httpx.Response):
                return answer
            return httpx.Response(200, json=answer)
        return self._default(api, request)

    def _stable_token(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["appid"] != APPID or body["secret"] != SECRET:
            return httpx.Response(200, json={"errcode": 40125, "errmsg": "invalid appsecret"})
        now = self.clock.now()
        left = (self.valid[self.current] - now).total_seconds() if self.current in self.valid else 0
        if body["force_refresh"] or left < 300:
            self.forced += body["force_refresh"]
            self.issued += 1
            self.current = f"TOKEN-{self.issued:04d}-" + "x" * 20
            self.valid = {self.current: now + timedelta(seconds=self.token_lifetime)}
            left = self.token_lifetime
        assert self.current is not None
        return httpx.Response(200, json={"access_token": self.current, "expires_in": int(left)})

    def _default(self, api: str, request: httpx.Request) -> httpx.Response:
        answers: dict[str, Any] = {
            "qrcode/create": {
                "ticket": "gQH47joAAAAAAAAAASxodHRw",
                "expire_seconds": 60,
                "url": "http://weixin.qq.com/q/x",
            },
            "media/upload": {"type": "image", "media_id": "MEDIA_1", "created_at": 1700000000},
            "message/template/send": {"errcode": 0, "errmsg": "ok", "msgid": 200228332},
            "message/mass/sendall": {
                "errcode": 0,
                "errmsg": "send job submission success",
                "msg_id": 34182,
                "msg_data_id": 206227730,
            },
            "tags/create": {"tag": {"id": 134, "name": "孕期"}},
            "user/info": {"subscribe": 1, "openid": "o1", "subscribe_time": 1700000000, "tagid_list": [2, 134]},
            "user/info/batchget": {
                "user_info_list": [{"subscribe": 1, "openid": "o1"}, {"subscribe": 0, "openid": "o2"}]
            },
            "user/get": {"total": 2, "count": 2, "data": {"openid": ["o1", "o2"]}, "next_openid": "o2"},
        }
        if api == "showqrcode":
            return httpx.Response(200, content=PNG, headers={"content-type": "image/jpg"})
        if api == "media/get":
            return httpx.Response(200, content=b"JFIF-bytes", headers={"content-type": "image/jpeg"})
        return httpx.Response(200, json=answers.get(api, {"errcode": 0, "errmsg": "ok"}))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def platform(clock: FakeClock) -> FakePlatform:
    return FakePlatform(clock)


@pytest.fixture
def store() -> MemoryTokenStore:
    return MemoryTokenStore()


MakeClient = Callable[..., WeChatClient]


@pytest.fixture
async def make_client(platform: FakePlatform, clock: FakeClock, store: MemoryTokenStore) -> AsyncIterator[MakeClient]:
    """Clients of one account sharing ``store``: each one stands for a separate process."""
    made: list[WeChatClient] = []

    def make(config: WeChatApiConfig | None = None, secret: str = SECRET) -> WeChatClient:
        client = WeChatClient(
            APPID,
            secret,
            token_store=store,
            config=config,
            transport=httpx.MockTransport(platform.handle),
            clock=clock,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture
def client(make_client: MakeClient) -> WeChatClient:
    return make_client()


# -- access tokens ---------------------------------------------------------------------------------


async def test_token_is_fetched_once_with_stable_token_and_cached(client: WeChatClient, platform: FakePlatform) -> None:
    await client.user_info("o1")
    await client.user_info("o1")
    await client.delete_tag(134)

    [fetch] = platform.token_calls
    assert fetch.request.method == "POST"
    assert fetch.body == {"grant_type": "client_credential", "appid": APPID, "secret": SECRET, "force_refresh": False}
    used = {call.request.url.params["access_token"] for call in platform.calls if call.api != "stable_token"}
    assert used == {platform.current}


async def test_processes_share_the_stored_token(make_client: MakeClient, platform: FakePlatform) -> None:
    await make_client().user_info("o1")
    await make_client().user_info("o1")  # another process: reads the store, fetches nothing
    assert len(platform.token_calls) == 1


async def test_token_is_refreshed_before_it_expires(
    client: WeChatClient, platform: FakePlatform, clock: FakeClock
) -> None:
    await client.user_info("o1")
    first = platform.current

    clock.advance(7200 - 250)  # 250 s left: above the 240 s margin, keep it
    await client.user_info("o1")
    assert len(platform.token_calls) == 1

    clock.advance(20)  # 230 s left: refresh, in normal mode (no force needed in the last 300 s)
    await client.user_info("o1")
    assert len(platform.token_calls) == 2
    assert platform.token_calls[-1].body["force_refresh"] is False
    assert platform.current != first
    assert platform.calls[-1].request.url.params["access_token"] == platform.current


async def test_a_rejected_token_is_replaced_once_and_the_call_retried(
    client: WeChatClient, platform: FakePlatform
) -> None:
    await client.user_info("o1")
    platform.revoke_all()  # e.g. another deployment force-refreshed: normal mode now hands out a new one

    info = await client.user_info("o1")

    assert info.openid == "o1"
    assert platform.forced == 0  # forced refreshes are scarce: not spent when normal mode suffices
    assert [call.api for call in platform.calls[-3:]] == ["user/info", "stable_token", "user/info"]


async def test_a_rejected_token_still_handed_out_is_force_refreshed(
    client: WeChatClient, platform: FakePlatform
) -> None:
    await client.user_info("o1")
    stale = platform.current
    assert stale is not None
    platform.then("user/info", {"errcode": 40001, "errmsg": "invalid credential rid: 2"})

    info = await client.user_info("o1")

    assert info.openid == "o1"
    assert platform.forced == 1
    assert [call.api for call in platform.calls[-4:]] == ["user/info", "stable_token", "stable_token", "user/info"]
    assert platform.calls[-1].request.url.params["access_token"] != stale


async def test_concurrent_calls_seeing_the_same_stale_token_cause_one_refresh(
    make_client: MakeClient, platform: FakePlatform
) -> None:
    processes = [make_client() for _ in range(3)]
    for process in processes:
        await process.user_info("o1")
    assert len(platform.token_calls) == 1
    platform.revoke_all()

    results = await asyncio.gather(*(process.user_info("o1") for process in processes for _ in range(4)))

    assert len(results) == 12
    assert platform.forced == 0
    assert len(platform.token_calls) == 2


async def test_a_token_rejected_twice_raises_after_one_refresh(client: WeChatClient, platform: FakePlatform) -> None:
    rejected = {"errcode": 40014, "errmsg": "invalid access_token"}
    platform.then("user/info", rejected, rejected, rejected)

    with pytest.raises(AccessTokenInvalid) as caught:
        await client.user_info("o1")

    assert caught.value.errcode == 40014
    assert platform.forced == 1
    assert len(platform.api_calls("user/info")) == 2


async def test_a_wrong_secret_is_credentials_rejected(make_client: MakeClient, platform: FakePlatform) -> None:
    with pytest.raises(CredentialsRejected) as caught:
        await make_client(secret="wrong").user_info("o1")
    assert caught.value.errcode == 40125
    assert platform.api_calls("user/info") == []


# -- errcodes --------------------------------------------------------------------------------------

ERRCODES: list[tuple[int, type[WeChatApiError]]] = [
    (40003, InvalidOpenid),
    (40007, InvalidMediaId),
    (43004, NotFollower),
    (43101, SubscriptionConsentMissing),
    (45015, OutsideCustomerServiceWindow),
    (45047, CustomerServiceCountExceeded),
    (45056, TagLimitReached),
    (45057, TagLimitReached),
    (45059, TagLimitReached),
    (45058, TagRejected),
    (45157, TagRejected),
    (45158, TagRejected),
    (45009, QuotaExceeded),
    (40013, CredentialsRejected),
    (40032, WeChatApiError),
    (99999, WeChatApiError),
]


@pytest.mark.parametrize(("errcode", "expected"), ERRCODES)
async def test_each_errcode_raises_its_exception(
    client: WeChatClient, platform: FakePlatform, errcode: int, expected: type[WeChatApiError]
) -> None:
    platform.then("message/custom/send", {"errcode": errcode, "errmsg": f"error {errcode} rid: 65f1-2a"})

    with pytest.raises(expected) as caught:
        await client.send_custom_message("o1", Text(content="hi"))

    error = caught.value
    assert type(error) is expected
    assert isinstance(error, WeChatError)
    assert (error.errcode, error.errmsg, error.api) == (errcode, f"error {errcode} rid: 65f1-2a", "message/custom/send")
    assert len(platform.api_calls("message/custom/send")) == 1  # errcode answers are not resent
    assert pickle.loads(pickle.dumps(error)).errcode == errcode  # noqa: S301  (our own bytes)


def test_recipient_errors_share_a_base() -> None:
    for error in (InvalidOpenid, NotFollower, SubscriptionConsentMissing, OutsideCustomerServiceWindow):
        assert issubclass(error, RecipientUnavailable)
    assert issubclass(CustomerServiceCountExceeded, RecipientUnavailable)
    assert not issubclass(QuotaExceeded, RecipientUnavailable)
    assert issubclass(InvalidRequest, ValueError)


async def test_platform_busy_is_retried_with_backoff(
    client: WeChatClient, platform: FakePlatform, clock: FakeClock
) -> None:
    busy = {"errcode": -1, "errmsg": "system error"}
    platform.then("user/info", busy, busy)

    info = await client.user_info("o1")

    assert info.follows
    assert len(platform.api_calls("user/info")) == 3
    assert clock.sleeps == [0.5, 1.0]


async def test_platform_busy_gives_up_after_the_retries(client: WeChatClient, platform: FakePlatform) -> None:
    platform.then("user/info", *[{"errcode": -1, "errmsg": "system error"}] * 10)
    with pytest.raises(PlatformBusy):
        await client.user_info("o1")
    assert len(platform.api_calls("user/info")) == 1 + WeChatApiConfig().retries


async def test_daily_quota_is_not_retried_and_says_when_it_resets(client: WeChatClient, platform: FakePlatform) -> None:
    platform.then("message/custom/send", {"errcode": 45009, "errmsg": "reach max api daily quota limit"})

    with pytest.raises(QuotaExceeded) as caught:
        await client.send_custom_message("o1", Text(content="hi"))

    assert caught.value.daily
    assert caught.value.retry_after == 3600  # START is 23:00 in Beijing
    assert len(platform.api_calls("message/custom/send")) == 1


async def test_minute_quota_is_retried_a_bounded_number_of_times(
    client: WeChatClient, platform: FakePlatform, clock: FakeClock
) -> None:
    minute = {"errcode": 45011, "errmsg": "api minute-quota reach limit"}
    platform.then("user/info", minute)
    assert (await client.user_info("o1")).openid == "o1"
    assert clock.sleeps == [2.0]

    platform.then("user/info", *[minute] * 10)
    with pytest.raises(QuotaExceeded) as caught:
        await client.user_info("o1")
    assert not caught.value.daily
    assert caught.value.retry_after == 60
    assert len(platform.api_calls("user/info")) == 2 + 1 + WeChatApiConfig().minute_quota_retries


# -- transport failures ----------------------------------------------------------------------------


async def test_reads_are_retried_after_transport_failures(client: WeChatClient, platform: FakePlatform) -> None:
    request = httpx.Request("GET", "https://api.weixin.qq.com/")
    platform.then("user/info", httpx.ReadTimeout("timed out", request=request), httpx.Response(502))
    assert (await client.user_info("o1")).openid == "o1"
    assert len(platform.api_calls("user/info")) == 3


async def test_sends_are_resent_only_when_the_connection_was_never_made(
    client: WeChatClient, platform: FakePlatform
) -> None:
    request = httpx.Request("POST", "https://api.weixin.qq.com/")
    platform.then("message/custom/send", httpx.ConnectError("refused", request=request))
    await client.send_custom_message("o1", Text(content="hi"))
    assert len(platform.api_calls("message/custom/send")) == 2

    platform.then("message/custom/send", httpx.ReadTimeout("timed out", request=request))
    with pytest.raises(TransportError) as caught:
        await client.send_custom_message("o1", Text(content="hi"))  # may have been delivered: no resend
    assert len(platform.api_calls("message/custom/send")) == 3
    assert caught.value.api == "message/custom/send"


async def test_an_idempotency_key_makes_a_send_resendable(client: WeChatClient, platform: FakePlatform) -> None:
    request = httpx.Request("POST", "https://api.weixin.qq.com/")
    platform.then("message/template/send", httpx.ReadTimeout("timed out", request=request))
    msgid = await client.send_template("o1", "TPL", {"thing1": "x"}, client_msg_id="order-42")
    assert msgid == 200228332
    assert len(platform.api_calls("message/template/send")) == 2


async def test_transport_error_after_the_retries(client: WeChatClient, platform: FakePlatform) -> None:
    platform.then("user/get", *[httpx.Response(503)] * 10)
    with pytest.raises(TransportError) as caught:
        await client.list_followers()
    assert caught.value.status_code == 503
    assert len(platform.api_calls("user/get")) == 1 + WeChatApiConfig().retries


# -- rate limiting ---------------------------------------------------------------------------------


async def test_rate_limiter_spaces_mass_sends(client: WeChatClient, platform: FakePlatform, clock: FakeClock) -> None:
    for _ in range(3):
        await client.mass_send_by_tag(Text(content="hi"), tag_id=134)
    assert [call.at for call in platform.api_calls("message/mass/sendall")] == [0.0, 1.0, 2.0]  # 60 a minute


async def test_rate_limits_are_per_account_and_api(clock: FakeClock) -> None:
    limiter = RateLimiter(
        WeChatApiConfig(rate_limits={"user/info": RateLimit(calls=2, period=1.0, burst=2)}), clock=clock
    )
    delays = [limiter.delay("a", "user/info") for _ in range(4)]
    assert delays == [0.0, 0.0, 0.5, 1.0]
    assert limiter.delay("b", "user/info") == 0.0  # another account
    assert limiter.delay("a", "user/get") == 0.0  # another API (the default limit)
    clock.advance(2.0)
    assert limiter.delay("a", "user/info") == 0.0  # the bucket refilled
    await limiter.acquire("a", "message/mass/sendall")
    await limiter.acquire("a", "message/mass/sendall")
    assert clock.sleeps == [1.0]


# -- local validation ------------------------------------------------------------------------------

Call_ = Callable[[WeChatClient], Awaitable[object]]

INVALID: list[Call_] = [
    lambda c: c.create_qrcode(0),
    lambda c: c.create_qrcode(2**32),
    lambda c: c.create_qrcode(True),
    lambda c: c.create_qrcode(100_001, permanent=True),
    lambda c: c.create_qrcode(""),
    lambda c: c.create_qrcode("x" * 65),
    lambda c: c.create_qrcode("ok", expire_seconds=2_592_001),
    lambda c: c.create_qrcode("ok", expire_seconds=0),
    lambda c: c.create_qrcode("ok", permanent=True, expire_seconds=60),
    lambda c: c.untag_members(134, [f"o{i}" for i in range(51)]),
    lambda c: c.tag_members(134, []),
    lambda c: c.tag_members(134, "o1"),
    lambda c: c.user_info_batch([f"o{i}" for i in range(101)]),
    lambda c: c.user_info(""),
    lambda c: c.mass_send_by_tag(Text(content="hi")),
    lambda c: c.mass_send_by_tag(Text(content="hi"), tag_id=1, to_all=True),
    lambda c: c.mass_send_by_tag(News(articles=(Article(title="t"),)), to_all=True),  # type: ignore[arg-type]
    lambda c: c.send_custom_message("o1", MpNews(media_id="m")),  # type: ignore[arg-type]
    lambda c: c.send_template("o1", "TPL", {}),
    lambda c: c.upload_media("thumb", "t.jpg", b"x" * (64 * 1024 + 1)),
    lambda c: c.upload_media("gif", "t.gif", b"x"),  # type: ignore[arg-type]
    lambda c: c.create_tag("x" * 31),
]


@pytest.mark.parametrize("call", INVALID)
async def test_invalid_requests_fail_before_any_http_call(
    client: WeChatClient, platform: FakePlatform, call: Call_
) -> None:
    with pytest.raises(InvalidRequest):
        await call(client)
    assert platform.calls == []


# -- secrets ---------------------------------------------------------------------------------------


def _rendered(error: BaseException) -> str:
    return str(error) + repr(error) + "".join(traceback.format_exception(error))


async def test_the_access_token_never_reaches_errors_or_logs(
    client: WeChatClient,
    platform: FakePlatform,
    store: MemoryTokenStore,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    await client.user_info("o1")
    token = platform.current
    assert token is not None

    def leaky_timeout(request: httpx.Request) -> httpx.ReadTimeout:
        return httpx.ReadTimeout(f"timed out on {request.url}", request=request)

    async def timeout_quoting_the_url(request: httpx.Request) -> httpx.Response:
        raise leaky_timeout(request)

    errors: list[BaseException] = []
    with structlog.testing.capture_logs() as logs:
        platform.then("message/custom/send", {"errcode": 45015, "errmsg": f"out of time limit {token} rid: 1"})
        with pytest.raises(OutsideCustomerServiceWindow) as window:
            await client.send_custom_message("o1", Text(content="hi"))
        errors.append(window.value)

        platform.then("user/info", *[{"errcode": 40001, "errmsg": "invalid credential"}] * 3)
        with pytest.raises(AccessTokenInvalid) as invalid:
            await client.user_info("o1")
        errors.append(invalid.value)

        async with WeChatClient(
            APPID, SECRET, token_store=store, transport=httpx.MockTransport(timeout_quoting_the_url), clock=clock
        ) as leaking:
            with pytest.raises(TransportError) as transport:
                await leaking.user_info("o1")
        errors.append(transport.value)

    current = platform.current
    assert current is not None
    for error in errors:
        text = _rendered(error)
        assert token not in text and current not in text, text
        assert "access_token=" not in text or "access_token=***" in text
        assert error.__context__ is None or not isinstance(error.__context__, httpx.HTTPError)
    assert "HTTP Request" in caplog.text  # httpx did log the requests ...
    assert token not in caplog.text and current not in caplog.text  # ... without the token
    assert SECRET not in caplog.text
    assert token not in repr(logs) and SECRET not in repr(logs)
    assert any(entry["event"] == "access token refreshed" for entry in logs)


async def test_reprs_hide_secrets() -> None:
    token = AccessToken("TOKEN-VALUE", START)
    assert "TOKEN-VALUE" not in repr(token)
    async with WeChatClient(APPID, SECRET, token_store=MemoryTokenStore()) as client:
        assert SECRET not in repr(client) and SECRET not in repr(vars(client))


# -- endpoints -------------------------------------------------------------------------------------


async def test_qrcode_requests_and_image(client: WeChatClient, platform: FakePlatform) -> None:
    qr = await client.create_qrcode("campaign-42", expire_seconds=86_400)
    await client.create_qrcode(100_000, permanent=True)
    await client.create_qrcode(7)
    await client.create_qrcode("forever", permanent=True)

    bodies = [call.body for call in platform.api_calls("qrcode/create")]
    assert bodies == [
        {
            "action_name": "QR_STR_SCENE",
            "action_info": {"scene": {"scene_str": "campaign-42"}},
            "expire_seconds": 86400,
        },
        {"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 100000}}},
        {"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 7}}},
        {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "forever"}}},
    ]
    assert qr.ticket == "gQH47joAAAAAAAAAASxodHRw"

    image = await client.qrcode_image("gQH/47+jo==")
    assert image == PNG
    shown = platform.api_calls("showqrcode")[0].request
    assert shown.url.host == "mp.weixin.qq.com"
    assert shown.url.params["ticket"] == "gQH/47+jo=="
    assert "access_token" not in shown.url.params


async def test_media_upload_and_download(client: WeChatClient, platform: FakePlatform) -> None:
    media = await client.upload_media("image", "poster.jpg", b"\xff\xd8jpeg")
    assert media.media_id == "MEDIA_1"
    upload = platform.api_calls("media/upload")[0].request
    assert upload.url.params["type"] == "image"
    assert upload.headers["content-type"].startswith("multipart/form-data")
    assert b'name="media"; filename="poster.jpg"' in upload.content

    assert await client.get_media("MEDIA_1") == b"JFIF-bytes"
    video = httpx.Response(200, json={"video_url": "http://example/v.mp4"})
    platform.then("media/get", video, {"errcode": 40007, "errmsg": "invalid media_id"})
    assert json.loads(await client.get_media("VIDEO")) == {"video_url": "http://example/v.mp4"}
    with pytest.raises(InvalidMediaId):
        await client.get_media("EXPIRED")


async def test_message_requests(client: WeChatClient, platform: FakePlatform) -> None:
    await client.send_custom_message("o1", Text(content="你好"))
    await client.send_custom_message("o1", Image(media_id="M"))
    await client.send_custom_message("o1", News(articles=(Article(title="T", url="https://x", picurl="https://p"),)))
    msgid = await client.send_template(
        "o1", "TPL", {"thing1": "奶粉"}, url="https://x", miniprogram=MiniProgram(appid="wxmini", pagepath="p/i")
    )
    await client.send_subscribe_message("o1", "SUB", {"thing1": "到货"}, page="https://y")
    mass = await client.mass_send_by_tag(MpNews(media_id="NEWS"), tag_id=134, clientmsgid="camp-1")
    await client.mass_send_by_tag(Image(media_id="M"), to_all=True)

    assert [call.body for call in platform.api_calls("message/custom/send")] == [
        {"touser": "o1", "msgtype": "text", "text": {"content": "你好"}},
        {"touser": "o1", "msgtype": "image", "image": {"media_id": "M"}},
        {"touser": "o1", "msgtype": "news", "news": {"articles": [{"title": "T", "url": "https://x", "picurl": "https://p"}]}},
    ]  # fmt: skip
    assert msgid == 200228332
    assert platform.api_calls("message/template/send")[0].body == {
        "touser": "o1",
        "template_id": "TPL",
        "url": "https://x",
        "miniprogram": {"appid": "wxmini", "pagepath": "p/i"},
        "data": {"thing1": {"value": "奶粉"}},
    }
    assert platform.api_calls("message/subscribe/bizsend")[0].body == {
        "touser": "o1",
        "template_id": "SUB",
        "page": "https://y",
        "data": {"thing1": {"value": "到货"}},
    }
    assert (mass.msg_id, mass.msg_data_id) == (34182, 206227730)
    assert [call.body for call in platform.api_calls("message/mass/sendall")] == [
        {"filter": {"is_to_all": False, "tag_id": 134}, "msgtype": "mpnews", "mpnews": {"media_id": "NEWS"},
         "send_ignore_reprint": 0, "clientmsgid": "camp-1"},
        {"filter": {"is_to_all": True}, "msgtype": "image", "image": {"media_id": "M"}},
    ]  # fmt: skip


async def test_tag_and_user_requests(client: WeChatClient, platform: FakePlatform) -> None:
    tag = await client.create_tag("孕期")
    await client.delete_tag(134)
    await client.tag_members(134, [f"o{i}" for i in range(50)])
    await client.untag_members(134, ["o1"])
    info = await client.user_info("o1", lang="en")
    batch = await client.user_info_batch(["o1", "o2"])
    page = await client.list_followers()
    await client.list_followers(page.next_openid)

    assert (tag.id, tag.name) == (134, "孕期")
    assert platform.api_calls("tags/create")[0].body == {"tag": {"name": "孕期"}}
    assert platform.api_calls("tags/delete")[0].body == {"tag": {"id": 134}}
    assert platform.api_calls("tags/members/batchtagging")[0].body == {
        "openid_list": [f"o{i}" for i in range(50)],
        "tagid": 134,
    }
    assert platform.api_calls("tags/members/batchuntagging")[0].body == {"openid_list": ["o1"], "tagid": 134}
    assert info.tagid_list == (2, 134)
    assert platform.api_calls("user/info")[0].request.url.params["lang"] == "en"
    assert platform.api_calls("user/info/batchget")[0].body == {
        "user_list": [{"openid": "o1", "lang": "zh_CN"}, {"openid": "o2", "lang": "zh_CN"}]
    }
    assert [user.follows for user in batch] == [True, False]
    assert page.openids == ("o1", "o2") and page.next_openid == "o2"
    assert [call.request.url.params["next_openid"] for call in platform.api_calls("user/get")] == ["", "o2"]


# -- wiring ----------------------------------------------------------------------------------------


async def test_registry_keeps_one_client_per_account_on_a_simulator_url(store: MemoryTokenStore) -> None:
    seen: list[httpx.URL] = []

    def simulator(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        if request.url.path == "/cgi-bin/stable_token":
            return httpx.Response(200, json={"access_token": "T", "expires_in": 7200})
        return httpx.Response(200, json={"total": 0, "count": 0, "next_openid": ""})

    config = WeChatApiConfig(base_url="http://127.0.0.1:8099/", qr_image_base_url="http://127.0.0.1:8099")
    async with WeChatClients(store, config, transport=httpx.MockTransport(simulator)) as clients:
        first = clients.add(APPID, SECRET)
        clients.add("wx2", "other")
        assert clients[APPID] is first and APPID in clients and len(clients) == 2
        with pytest.raises(ValueError, match="already"):
            clients.add(APPID, SECRET)
        with pytest.raises(KeyError):
            clients["wx-unknown"]
        page = await first.list_followers()
    assert page.is_last
    assert [str(url).split("?")[0] for url in seen] == [
        "http://127.0.0.1:8099/cgi-bin/stable_token",
        "http://127.0.0.1:8099/cgi-bin/user/get",
    ]


async def test_registry_for_the_configured_accounts(store: MemoryTokenStore) -> None:
    tokens_asked: list[dict[str, Any]] = []

    def simulator(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/cgi-bin/stable_token":
            tokens_asked.append(json.loads(request.content))
            return httpx.Response(200, json={"access_token": "T", "expires_in": 7200})
        return httpx.Response(200, json={"total": 0, "count": 0, "next_openid": ""})

    def account(appid: str, secret: str) -> WeChatAccount:
        return WeChatAccount.model_validate(
            {"appid": appid, "token": "tok", "encoding_aes_key": "k" * 43, "secret": secret}
        )

    config = WeChatApiConfig(base_url="http://127.0.0.1:8099/")
    accounts = [account(APPID, SECRET), account("wx2", "other")]
    async with WeChatClients.for_accounts(
        iter(accounts), store, config, transport=httpx.MockTransport(simulator)
    ) as clients:
        assert list(clients) == [APPID, "wx2"]
        await clients["wx2"].list_followers()
        with pytest.raises(ValueError, match="already"):
            clients.add(APPID, SECRET)  # add() still refuses an appid that is already configured
    assert tokens_asked == [
        {"grant_type": "client_credential", "appid": "wx2", "secret": "other", "force_refresh": False}
    ]

    with pytest.raises(ValueError, match=f"account {APPID} is already registered"):
        WeChatClients.for_accounts([*accounts, account(APPID, "again")], store)
    async with WeChatClients.for_accounts([], store) as empty:
        assert len(empty) == 0


def test_config_rules() -> None:
    assert WeChatApiConfig(base_url="http://127.0.0.1:8099/").base_url == "http://127.0.0.1:8099"
    assert WeChatApiConfig().rate_limit("message/mass/sendall").calls == 60
    overridden = WeChatApiConfig(rate_limits={"user/info": RateLimit(calls=5)})
    assert overridden.rate_limit("message/mass/sendall").calls == 60  # defaults stay under overrides
    with pytest.raises(ValueError, match="token_refresh_margin"):
        WeChatApiConfig(token_refresh_margin=600)  # stable_token would return the same token forever
    with pytest.raises(ValueError, match="base_url"):
        WeChatApiConfig(base_url="api.weixin.qq.com")
